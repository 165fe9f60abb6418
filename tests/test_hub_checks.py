"""One hub lookup (core.hub.ask_hub) behind the model precheck and the data-set check: a missing repository and
an unreachable hub are told apart, and each caller names what to do."""

from __future__ import annotations

import huggingface_hub
import pytest
from huggingface_hub.utils import RepositoryNotFoundError

from helpers.core import data, hub, precheck
from helpers.core.params import ParamsError


def _not_found() -> RepositoryNotFoundError:
    import httpx

    request = httpx.Request("GET", "https://huggingface.co/api/models/org/none")
    return RepositoryNotFoundError("404", response=httpx.Response(404, request=request))


class _Hub:
    def __init__(self, error: Exception | None):
        self.error, self.asked = error, []

    def __call__(self):
        return self

    def _info(self, kind, repo_id, timeout):
        self.asked.append((kind, repo_id, timeout))
        if self.error is not None:
            raise self.error

    def model_info(self, repo_id, timeout):
        self._info("model", repo_id, timeout)

    def dataset_info(self, repo_id, timeout):
        self._info("dataset", repo_id, timeout)


@pytest.fixture
def fake_hub(monkeypatch):
    def install(error):
        api = _Hub(error)
        monkeypatch.setattr(huggingface_hub, "HfApi", api)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
        monkeypatch.setattr(data, "_in_dataset_cache", lambda repo_id: False)
        return api

    return install


def test_ask_hub_tells_missing_from_unreachable(fake_hub):
    api = fake_hub(None)
    assert hub.ask_hub("org/model", "model", 3.0) is None
    assert hub.ask_hub("org/set", "dataset") is None
    assert api.asked == [("model", "org/model", 3.0), ("dataset", "org/set", 10.0)]
    fake_hub(_not_found())
    assert hub.ask_hub("org/none") == "missing"
    fake_hub(ConnectionError("down"))
    assert hub.ask_hub("org/x", "dataset") == "unreachable (ConnectionError)"


def test_the_data_set_check_and_the_model_precheck_name_the_fix(fake_hub, monkeypatch):
    monkeypatch.setattr("helpers.core.models.in_hub_cache", lambda repo_id: False)
    fake_hub(_not_found())
    with pytest.raises(data.DataError, match="hub data set 'org/set' does not exist"):
        data.check_hub_dataset("org/set")
    with pytest.raises(ParamsError, match="parameter 'judge_model': hub model 'org/m' does not exist"):
        precheck.check_hub_model("judge_model", "org/m")
    fake_hub(TimeoutError())
    with pytest.raises(data.DataError, match=r"not reachable \(TimeoutError\); set HF_HUB_OFFLINE=1"):
        data.check_hub_dataset("org/set")
    with pytest.raises(ParamsError, match=r"not reachable \(TimeoutError\); download it"):
        precheck.check_hub_model("judge_model", "org/m")
