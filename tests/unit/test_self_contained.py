"""CI runs on a clean clone that has no ../shared: code and tests read only files of the
repository (real samples are copied under tests/fixtures/ with their sources and licences)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("include", "dags", "plugins", "devstack", "bench", "tests")


def test_nothing_reads_the_shared_folder_outside_the_repository():
    offenders = []
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(errors="replace")
            if path.name != Path(__file__).name and ("/work/shared" in text or "../shared" in text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"expected no reads of ../shared, got {offenders}; copy the file into tests/fixtures/"
