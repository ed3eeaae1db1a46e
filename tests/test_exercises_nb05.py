import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, as in notebook 05's solution regions.
def one_row_per_digit(noise_vectors, num_classes):
    noise = np.tile(noise_vectors, (num_classes, 1))
    labels = np.repeat(np.arange(num_classes), len(noise_vectors))
    return noise, labels


def projection_logit(features, labels, w, b, class_vectors):
    return features @ w + b + np.sum(class_vectors[labels] * features, axis=1)


def test_reference_answers_pass(capsys):
    assert check_exercise("05.one_row_per_digit", one_row_per_digit) is True
    assert check_exercise("05.projection_logit", projection_logit) is True
    assert capsys.readouterr().out.count("hidden cases pass") == 2


def test_one_column_per_digit_is_rejected():
    def one_column_per_digit(noise_vectors, num_classes):  # row j asks for every digit
        noise = np.repeat(noise_vectors, num_classes, axis=0)
        labels = np.tile(np.arange(num_classes), len(noise_vectors))
        return noise, labels

    with pytest.raises(AssertionError,
                       match=r"3 noise vectors of size 2, 4 classes, noise: .*Hint: row k"):
        check_exercise("05.one_row_per_digit", one_column_per_digit)


def test_grid_answers_of_the_wrong_kind_are_rejected():
    with pytest.raises(AssertionError, match=r"expected a pair \(noise, labels\)"):
        check_exercise("05.one_row_per_digit", lambda noise, num_classes: noise)
    with pytest.raises(AssertionError, match=r"labels: expected integer labels"):
        check_exercise("05.one_row_per_digit",
                       lambda noise, n: (one_row_per_digit(noise, n)[0],
                                         one_row_per_digit(noise, n)[1].astype("float32")))


def test_projection_without_the_label_term_is_rejected():
    def unconditional_logit(features, labels, w, b, class_vectors):
        return features @ w + b

    with pytest.raises(AssertionError, match=r"5 images, 3 classes: expected .*Hint: logit_i"):
        check_exercise("05.projection_logit", unconditional_logit)


def test_projection_logit_needs_one_number_per_image():
    def column_logit(features, labels, w, b, class_vectors):
        return projection_logit(features, labels, w, b, class_vectors)[:, None]

    with pytest.raises(AssertionError, match=r"5 images, 3 classes: expected shape \(5,\)"):
        check_exercise("05.projection_logit", column_logit)
