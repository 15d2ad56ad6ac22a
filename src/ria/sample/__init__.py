"""Real sample DICOM for demos, tests and benchmarks (pydicom's own test files)."""

from ria.sample.corpus import (
    DEMO_COLLECTIONS,
    DEMO_TABLES,
    CorpusInfo,
    find_test_file,
    generate_corpus,
    write_demo_corpus,
)

__all__ = [
    "DEMO_COLLECTIONS",
    "DEMO_TABLES",
    "CorpusInfo",
    "find_test_file",
    "generate_corpus",
    "write_demo_corpus",
]
