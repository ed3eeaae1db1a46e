"""Hidden cases for notebook 17 (learning from a reward: REINFORCE with a KL penalty)."""

import numpy as np

from aigc_tf.exercises import check_cases, exercise


@exercise("17.sequence_kl",
          hint="for each row (one sampled text) sum log pi - log pi_ref over its tokens: "
               "policy minus reference, summed over the time axis, one number per row")
def _sequence_kl_cases(sequence_kl_estimate):
    from keras import ops

    from aigc_tf.reward import sequence_kl

    rng = np.random.default_rng(17)
    same = np.log(rng.uniform(0.05, 1.0, size=(3, 5)))
    cases = [("policy equals reference (KL 0)", same, same.copy()),
             ("one text of two tokens: probabilities (0.5, 0.4) vs (0.25, 0.1)",
              np.log([[0.5, 0.4]]), np.log([[0.25, 0.1]])),
             ("a batch of 4 texts, 6 tokens each", np.log(rng.uniform(0.01, 1, (4, 6))),
              np.log(rng.uniform(0.01, 1, (4, 6))))]
    return check_cases(sequence_kl_estimate, cases,
                       lambda policy, reference: ops.convert_to_numpy(
                           sequence_kl(policy, reference)),
                       rtol=1e-5, atol=1e-6)


@exercise("17.reinforce_loss",
          hint="advantage = reward - mean(rewards) (the baseline); loss = -mean(advantage * "
               "sequence log-probability), a single number")
def _reinforce_loss_cases(reinforce_with_baseline):
    from aigc_tf.reward import reinforce_loss

    rng = np.random.default_rng(71)
    cases = [("log-probs (-1, -2, -3), rewards (1, 0, 2)", np.array([-1.0, -2.0, -3.0]),
              np.array([1.0, 0.0, 2.0])),
             ("equal rewards (no signal: loss 0)", np.array([-4.0, -9.0]), np.array([3.0, 3.0])),
             ("a batch of 32 texts", rng.normal(-40, 5, 32), rng.uniform(0, 1, 32))]
    return check_cases(reinforce_with_baseline, cases,
                       lambda log_probs, rewards: float(reinforce_loss(log_probs, rewards)),
                       rtol=1e-5, atol=1e-6)


@exercise("17.lipogram_reward",
          hint="words are runs of letters A-Z / a-z (re.findall(r'[A-Za-z]+', text)); return "
               "the share of them without the letter in either case, and 0.0 if there is no word")
def _lipogram_reward_cases(share_of_words_without):
    from aigc_tf.reward import LipogramReward

    cases = [("'the cat sat', letter e", "the cat sat", "e"),
             ("'Eat and Act', letter e (capitals count)", "Eat and Act", "e"),
             ("punctuation only: '...!'", "...!", "e"),
             ("'O, Romeo, Romeo! wherefore art thou Romeo?', letter o",
              "O, Romeo, Romeo! wherefore art thou Romeo?", "o"),
             ("words split by apostrophes: \"I'll ne'er\", letter e", "I'll ne'er", "e")]
    return check_cases(share_of_words_without, cases,
                       lambda text, letter: LipogramReward(letter)([text])[0], rtol=1e-5)
