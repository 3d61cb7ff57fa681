"""The Keras worker's environment: PYTHONPATH only from a source checkout.

From an installed wheel, ``resect.app`` and ``resect.core`` live in site-packages, which is on
``sys.path`` already; adding it to PYTHONPATH would put it ahead of the standard library.
"""

from __future__ import annotations

from pathlib import Path

from resect.app import keras_client


def test_the_repository_is_a_source_checkout() -> None:
    assert keras_client._source_checkout(keras_client.ROOT)
    assert (keras_client.ROOT / "resect" / "core" / "keras_backend" / "service.py").is_file()


def test_site_packages_is_not_a_source_checkout(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (site / "resect" / "app").mkdir(parents=True)
    (site / "resect" / "core").mkdir()
    assert not keras_client._source_checkout(site / "resect")
    assert not keras_client._source_checkout(site)
    (site / "pyproject.toml").write_text("[project]\n")  # even a stray one there does not make it a checkout
    assert not keras_client._source_checkout(site)


def test_worker_started_from_the_checkout_gets_pythonpath(qtbot) -> None:
    client = keras_client.KerasClient()
    try:
        client.start()
        env = client.process.processEnvironment()
        assert str(keras_client.ROOT) in env.value("PYTHONPATH").split(":")
        assert client.process.arguments() == ["-m", "resect.core.keras_backend.service"]
    finally:
        client.shutdown(msecs=2000)


def test_worker_started_from_a_wheel_gets_no_pythonpath(qtbot, monkeypatch, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(keras_client, "ROOT", site)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    client = keras_client.KerasClient()
    try:
        client.start()
        env = client.process.processEnvironment()
        assert not env.contains("PYTHONPATH")
        assert client.process.arguments() == ["-P", "-m", "resect.core.keras_backend.service"]
        assert client.process.workingDirectory() != str(site)
    finally:
        client.shutdown(msecs=2000)
