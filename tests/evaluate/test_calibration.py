import numpy as np
import pytest

from mdfs.evaluate import calibration


def test_class_scored_by_its_best_label_word() -> None:
    # Words 0,1 name class 0; word 2 names class 1.
    words = np.log([[0.1, 0.3, 0.2], [0.05, 0.01, 0.4]])
    got = calibration.class_logprobs(words, [0, 0, 1], num_classes=2)
    np.testing.assert_allclose(np.exp(got), [[0.3, 0.2], [0.05, 0.4]])


def test_normalise_renormalises_over_classes() -> None:
    probs = calibration.normalise(np.log([[0.3, 0.2], [0.01, 0.03]]))
    np.testing.assert_allclose(probs, [[0.6, 0.4], [0.25, 0.75]])


def test_contextual_calibration_by_hand() -> None:
    # Content-free inputs lean to class 0: normalised [0.7, 0.3] and [0.6, 0.4] average [0.65, 0.35].
    prior = calibration.content_free_prior(np.log([[0.07, 0.03], [0.3, 0.2]]))
    np.testing.assert_allclose(prior, [0.65, 0.35])
    probs = np.array([[0.7, 0.3], [0.6, 0.4]])
    calibrated = calibration.calibrate(probs, prior)
    # W = diag(1/0.65, 1/0.35): [0.7/0.65, 0.3/0.35] = [14/13, 6/7] = [98, 78] / 91.
    np.testing.assert_allclose(calibrated[0], [98 / 176, 78 / 176])
    # [0.6/0.65, 0.4/0.35] = [12/13, 8/7] = [84, 104] / 91: the bias no longer wins.
    np.testing.assert_allclose(calibrated[1], [84 / 188, 104 / 188])
    gold = [0, 1]
    assert calibration.accuracy(probs, gold) == 0.5
    assert calibration.accuracy(calibrated, gold) == 1.0


def test_content_free_input_itself_becomes_uniform() -> None:
    content_free = np.log([[0.5, 0.2, 0.1]])
    prior = calibration.content_free_prior(content_free)
    calibrated = calibration.calibrate(calibration.normalise(content_free), prior)
    np.testing.assert_allclose(calibrated, [[1 / 3, 1 / 3, 1 / 3]])


def test_unknown_gold_counts_as_wrong() -> None:
    assert calibration.accuracy(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, -1]) == pytest.approx(0.5)
