"""Hidden cases for notebook 08 (RNN basics)."""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, exercise, expect_close


def _lstm_case(rng, batch, features, units, zero_state):
    """Random weights, inputs and state, and Keras's ``LSTMCell`` output for them."""
    import keras

    cell = keras.layers.LSTMCell(units)
    cell.build((None, features))
    weights = [rng.normal(scale=0.5, size=w.shape) for w in cell.get_weights()]
    cell.set_weights(weights)
    x = rng.normal(size=(batch, features))
    h, c = ((np.zeros((batch, units)),) * 2 if zero_state
            else (np.tanh(rng.normal(size=(batch, units))), rng.normal(size=(batch, units))))
    _, (h_new, c_new) = cell(x.astype("float32"), [h.astype("float32"), c.astype("float32")])
    expected = (keras.ops.convert_to_numpy(h_new), keras.ops.convert_to_numpy(c_new))
    return (x, h, c, *weights), expected


@exercise("08.lstm_step",
          hint="Keras packs the gates side by side as [input, forget, candidate, output], each "
               "`units` columns wide; the gates use sigmoid, the candidate tanh, and h_new "
               "squashes the NEW cell state")
def _lstm_step_cases(lstm_step):
    rng = np.random.default_rng(8)
    settings = [("one sequence, 3 features, 2 units, zero state", 1, 3, 2, True),
                ("batch of 4, 5 features, 3 units, random state", 4, 5, 3, False),
                ("batch of 2, 1 feature, 6 units, random state", 2, 1, 6, False)]
    for name, batch, features, units, zero_state in settings:
        arguments, (h_expected, c_expected) = _lstm_case(rng, batch, features, units, zero_state)
        answer = lstm_step(*(a.copy() for a in arguments))
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            raise ExerciseFailure(f"{name}: expected a pair (h_new, c_new), "
                                  f"got {type(answer).__name__}")
        expect_close(f"{name}, h_new", answer[0], h_expected, rtol=1e-4, atol=1e-5)
        expect_close(f"{name}, c_new", answer[1], c_expected, rtol=1e-4, atol=1e-5)
    return len(settings)


@exercise("08.clip_by_global_norm",
          hint="one norm for all the arrays together, sqrt(sum of every squared entry); scale "
               "every array by the same factor min(1, c / norm)")
def _clip_by_global_norm_cases(clip_by_global_norm):
    import tensorflow as tf

    rng = np.random.default_rng(80)
    cases = [("two arrays with joint norm 13, c = 1",
              [np.array([3.0, 4.0]), np.array([[12.0]])], 1.0),
             ("joint norm 5 below c = 10 (nothing to clip)", [np.array([3.0, 4.0])], 10.0),
             ("one large and one small array, c = 1",
              [np.array([100.0, 0.0]), np.array([0.5, 0.5, 0.5])], 1.0),
             ("three random arrays of different shapes, c = 2",
              [rng.normal(size=(3, 4)), rng.normal(size=5), rng.normal(size=(2, 2, 2))], 2.0)]
    for name, grads, clip in cases:
        expected, _ = tf.clip_by_global_norm([tf.constant(g) for g in grads], clip)
        answer = clip_by_global_norm([g.copy() for g in grads], clip)
        if not isinstance(answer, (tuple, list)) or len(answer) != len(grads):
            raise ExerciseFailure(f"{name}: expected a list of {len(grads)} arrays, "
                                  f"got {type(answer).__name__}")
        for index, (got, want) in enumerate(zip(answer, expected, strict=True)):
            expect_close(f"{name}, array {index}", got, want.numpy(), rtol=1e-6, atol=1e-9)
    return len(cases)
