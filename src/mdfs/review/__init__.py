"""Human review of the fine filter: sample its decisions, label them in a browser, export.

`sampling` draws a stratified sample of a run's `quality_classifier` decisions, `store`
keeps the sample and the labels on disk, `agreement` measures people against the model and
each other, `app` is the local web app, `commands` the `mdfs review` command.
"""
