"""Hidden cases for notebook 14 (compression: quantisation, pruning, distillation)."""

import numpy as np

from aigc_tf.exercises import check_cases, exercise


@exercise("14.int8_round_trip",
          hint="scale = max(|x|) / 127 over the whole tensor; q = round(x / scale) clipped to "
               "[-127, 127]; return scale * q (floats, same shape as x)")
def _int8_round_trip_cases(int8_round_trip):
    from aigc_tf.compression import dequantize, quantize_symmetric

    rng = np.random.default_rng(14)
    cases = [("x = (-1, 0.02, 0.5, 2.54)", np.array([-1.0, 0.02, 0.5, 2.54])),
             ("largest magnitude is negative: x = (-4, 1, 3)", np.array([-4.0, 1.0, 3.0])),
             ("a 3x4 matrix of normal weights", rng.normal(size=(3, 4))),
             ("tiny weights around 1e-3", rng.normal(scale=1e-3, size=(20,)))]
    return check_cases(int8_round_trip, cases, lambda x: dequantize(*quantize_symmetric(x)),
                       rtol=1e-5, atol=1e-7)


@exercise("14.soft_label_loss",
          hint="soften both with softmax(logits / T), compute KL(teacher || student) = "
               "sum p_t * (log p_t - log p_s) over classes, one number per row, times T**2")
def _soft_label_loss_cases(soft_label_loss):
    from keras import ops

    from aigc_tf.compression import distillation_loss

    rng = np.random.default_rng(41)
    same = rng.normal(size=(2, 5))
    cases = [("student equals teacher (loss 0)", same, same.copy(), 3.0),
             ("teacher (2, 0, -1), student uniform, T = 1", np.array([[2.0, 0.0, -1.0]]),
              np.zeros((1, 3)), 1.0),
             ("the same pair at T = 4", np.array([[2.0, 0.0, -1.0]]), np.zeros((1, 3)), 4.0),
             ("a batch of 6 rows, 10 classes, T = 2", rng.normal(scale=3.0, size=(6, 10)),
              rng.normal(size=(6, 10)), 2.0)]
    return check_cases(soft_label_loss, cases,
                       lambda teacher, student, temperature: ops.convert_to_numpy(
                           distillation_loss(teacher, student, temperature)),
                       rtol=1e-4, atol=1e-6)


@exercise("14.sparsity_schedule",
          hint="progress = (step - begin) / (end - begin), clipped to [0, 1]; "
               "s = final * (1 - (1 - progress)**3) when pruning starts from 0")
def _sparsity_schedule_cases(sparsity_at):
    from aigc_tf.compression import polynomial_sparsity

    cases = [("step 0 of 0..100, final 0.8", 0, 0.8, 0, 100),
             ("halfway, final 0.8", 50, 0.8, 0, 100),
             ("a quarter of the way, final 0.9", 25, 0.9, 0, 100),
             ("before begin_step", 5, 0.5, 10, 60),
             ("after end_step", 500, 0.95, 10, 60)]
    return check_cases(sparsity_at, cases, polynomial_sparsity, rtol=1e-6)
