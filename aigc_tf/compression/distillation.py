"""Knowledge distillation: a small student learns from a big teacher's soft labels.

Hinton, Vinyals & Dean (2015): soften both networks' class probabilities with a temperature
:math:`T` (:math:`p_i = \\mathrm{softmax}(z_i / T)`), so the teacher's small probabilities --
"this 7 looks a bit like a 1" -- carry information, and train the student on

.. math:: L = \\alpha\\, \\mathrm{CE}(y, \\mathrm{softmax}(z^s))
           + (1 - \\alpha)\\, T^2\\, \\mathrm{KL}\\big(\\mathrm{softmax}(z^t/T) \\,\\|\\,
           \\mathrm{softmax}(z^s/T)\\big).

The factor :math:`T^2` keeps the soft term's gradients on the same scale as the hard term's
when :math:`T` changes.
"""

import keras
import numpy as np  # noqa: F401  (used by the examples)
import tensorflow as tf
from keras import ops


def _check_temperature(temperature):
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or \
            not temperature > 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")


def distillation_loss(teacher_logits, student_logits, temperature):
    """Per-example soft-label loss :math:`T^2\\,\\mathrm{KL}(p^t_T \\| p^s_T)`, shape ``(N,)``.

    Args:
        teacher_logits: the teacher's logits, shape ``(N, C)``.
        student_logits: the student's logits, same shape.
        temperature: the softening temperature ``T > 0``.

    Returns:
        A tensor of shape ``(N,)``; zero where the student's softened probabilities equal
        the teacher's.

    Example:
        >>> logits = np.array([[2.0, 0.0, -1.0]])
        >>> float(distillation_loss(logits, logits, temperature=4.0)[0])
        0.0
        >>> round(float(distillation_loss(logits, np.zeros((1, 3)), temperature=1.0)[0]), 4)
        0.5743
    """
    _check_temperature(temperature)
    teacher_logits = ops.convert_to_tensor(teacher_logits, dtype="float32")
    student_logits = ops.convert_to_tensor(student_logits, dtype="float32")
    if teacher_logits.shape != student_logits.shape or len(teacher_logits.shape) != 2:
        raise ValueError("teacher_logits and student_logits must both have shape (N, classes), "
                         f"got {tuple(teacher_logits.shape)} and {tuple(student_logits.shape)}")
    teacher_log_p = ops.log_softmax(teacher_logits / temperature, axis=-1)
    student_log_p = ops.log_softmax(student_logits / temperature, axis=-1)
    kl = ops.sum(ops.exp(teacher_log_p) * (teacher_log_p - student_log_p), axis=-1)
    return temperature**2 * kl


@keras.saving.register_keras_serializable(package="aigc_tf")
class Distiller(keras.Model):
    """Train ``student`` on ``alpha`` x hard-label loss + ``(1 - alpha)`` x distillation loss.

    The teacher is frozen and only read. ``fit`` takes ``(images, labels)`` batches as for the
    student alone; ``compile`` takes the optimizer and, optionally, metrics on the student's
    logits (e.g. ``keras.metrics.SparseCategoricalAccuracy()``). The logs report ``loss``,
    ``hard_loss`` (cross-entropy with the labels) and ``soft_loss``
    (:func:`distillation_loss`). Calling the distiller calls the student.

    Args:
        student: a Keras model returning logits.
        teacher: a trained Keras model returning logits of the same shape.
        temperature: softening temperature ``T`` (``> 0``; 2-10 is usual).
        alpha: weight of the hard-label loss, in ``[0, 1]`` (0: soft labels only).
        **kwargs: passed to ``keras.Model``.

    Example:
        >>> teacher = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> student = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> distiller = Distiller(student, teacher, temperature=2.0, alpha=0.5)
        >>> distiller.compile(optimizer="adam")
        >>> x, y = np.ones((16, 4)), np.zeros(16, dtype="int32")
        >>> sorted(distiller.fit(x, y, epochs=1, verbose=0).history)
        ['hard_loss', 'loss', 'soft_loss']
    """

    def __init__(self, student, teacher, temperature=4.0, alpha=0.1, **kwargs):
        super().__init__(**kwargs)
        _check_temperature(temperature)
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
        for name, model in (("student", student), ("teacher", teacher)):
            if not isinstance(model, keras.Model):
                raise ValueError(f"{name} must be a keras.Model, got {type(model).__name__}")
        self.student, self.teacher = student, teacher
        self.teacher.trainable = False
        self.temperature, self.alpha = float(temperature), float(alpha)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.hard_tracker = keras.metrics.Mean(name="hard_loss")
        self.soft_tracker = keras.metrics.Mean(name="soft_loss")

    @property
    def metrics(self):
        trackers = [self.loss_tracker, self.hard_tracker, self.soft_tracker]
        compiled = getattr(self, "_compile_metrics", None)  # metrics passed to compile()
        return trackers + ([compiled] if compiled is not None else [])

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        hard = ops.mean(keras.losses.sparse_categorical_crossentropy(y, y_pred, from_logits=True))
        soft = ops.mean(distillation_loss(self.teacher(x, training=False), y_pred,
                                          self.temperature))
        loss = self.alpha * hard + (1 - self.alpha) * soft
        for tracker, value in ((self.loss_tracker, loss), (self.hard_tracker, hard),
                               (self.soft_tracker, soft)):
            tracker.update_state(value, sample_weight=ops.shape(y_pred)[0])
        return loss

    def train_step(self, data):
        x, y = data[0], data[1]
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred)
        grads = tape.gradient(loss, self.student.trainable_weights)
        self.optimizer.apply(grads, self.student.trainable_weights)
        return self.compute_metrics(x, y, y_pred)

    def test_step(self, data):
        x, y = data[0], data[1]
        y_pred = self(x, training=False)
        self.compute_loss(x, y, y_pred, training=False)
        return self.compute_metrics(x, y, y_pred)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        results = {}
        for metric in self.metrics:
            if metric in (self.loss_tracker, self.hard_tracker, self.soft_tracker):
                results[metric.name] = metric.result()
            else:  # the compiled metrics, one object holding several
                metric.update_state(y, y_pred, sample_weight)
                results.update(metric.result())
        return results

    def get_config(self):
        return {**super().get_config(),
                "student": keras.saving.serialize_keras_object(self.student),
                "teacher": keras.saving.serialize_keras_object(self.teacher),
                "temperature": self.temperature, "alpha": self.alpha}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("student", "teacher"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
