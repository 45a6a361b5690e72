"""A built-in profile with its commented `rights = { users = "required" }` line turned on:
what an organisation does to require a second factor of its administrators."""

from pathlib import Path

from vestibule.config import load_profile

LINE = 'rights = { users = "required" }'


def administrators_required(name: str, tmp_path: Path, settings) -> None:
    text = Path(load_profile(name).source).read_text(encoding="utf-8")
    assert f"# {LINE}" in text, f"{name}.toml lost its commented line"
    path = tmp_path / f"{name}-administrators-required.toml"
    path.write_text(text.replace(f"# {LINE}", LINE), encoding="utf-8")
    settings.VESTIBULE_PROFILE = str(path)
