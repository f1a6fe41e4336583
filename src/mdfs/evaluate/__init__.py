"""Zero- and few-shot evaluation of causal language models on ZeroCLUE/FewCLUE.

Scored the way Yuan 1.0 scored it: classification tasks by the probability of label words
after a prompt (best of several words per class, then contextual calibration), pair and
multiple-choice tasks by the mean loss of each candidate's continuation. Tasks are data:
one YAML file per task in `tasks/` (see `tasks/README.md`).
"""
