"""`retrain --dry-run`'s expected time with no timed model yet: the measured rate of this CPU's precision."""
import pytest

import trust_tagger.model.encoder as enc
from trust_tagger.config import Settings
from trust_tagger.retrain.loop import FALLBACK_RATES, expected_seconds


@pytest.mark.parametrize("native_bf16, env, kind", [(True, "1", "bf16"), (False, "1", "float32"), (True, "0", "float32")])
def test_without_a_timed_model_the_estimate_uses_the_rate_of_the_precision_training_will_run_in(
        tmp_path, monkeypatch, native_bf16, env, kind):
    monkeypatch.setattr(enc, "cpu_bf16_supported", lambda: native_bf16)
    monkeypatch.setenv("TRUST_TAGGER_CPU_BF16", env)
    settings = Settings(root=tmp_path, model_dir=tmp_path / "models")
    seconds, basis = expected_seconds(settings, n_train=2000, n_test=300, epochs=1)
    per_epoch, per_second = FALLBACK_RATES[kind]
    assert seconds == pytest.approx(per_epoch * 2 + (2000 + 600) / per_second)
    assert basis.endswith(f"in {kind}")
