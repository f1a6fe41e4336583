"""Fine filter: a three-class (high / low / ad) quality classifier over paragraph segments.

`segments` cuts a document into the pieces the classifier scores, `labelled` assembles the
training set from ../shared/data, `bert` pretrains and fine-tunes the encoder, `fasttext_model`
distils it into a fast linear model, `scoring` turns segment scores into document verdicts,
`step` is the pipeline step and `commands` the CLI.
"""

LABELS = ("high", "low", "ad")
