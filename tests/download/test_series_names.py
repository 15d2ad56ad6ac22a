"""File names inside a getImage ZIP: TCIA's sequential default and its NewFileNames rule."""

from __future__ import annotations

from ria.catalog.search import InstanceRow
from ria.download.series import sequential_names, tcia_new_file_names


def _rows(pairs: list[tuple[int | None, int | None]]) -> list[InstanceRow]:
    return [
        InstanceRow(
            series_instance_uid="1.2",
            sop_instance_uid=f"1.2.{n}",
            sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
            transfer_syntax_uid=None,
            instance_number=instance,
            acquisition_number=acquisition,
            size=1,
            sha256="0" * 64,
            md5=None,
            crc32=None,
            blob_key="0" * 64,
        )
        for n, (acquisition, instance) in enumerate(pairs)
    ]


def test_sequential_names_are_eight_digits_from_one() -> None:
    assert sequential_names(3) == ["00000001.dcm", "00000002.dcm", "00000003.dcm"]
    assert sequential_names(0) == []


def test_fifty_images_of_one_acquisition_pad_to_two_digits() -> None:
    names = tcia_new_file_names(_rows([(1, n) for n in range(1, 51)]))
    assert names[0] == "1-01.dcm" and names[9] == "1-10.dcm" and names[-1] == "1-50.dcm"


def test_a_new_acquisition_starts_a_new_run_and_restarts_the_counter() -> None:
    names = tcia_new_file_names(_rows([(1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 6)]))
    assert names == ["1-1.dcm", "1-2.dcm", "1-3.dcm", "2-1.dcm", "2-2.dcm", "2-3.dcm"]


def test_run_index_not_the_acquisition_number_names_the_run() -> None:
    names = tcia_new_file_names(_rows([(7, 1), (9, 1), (12, 1)]))
    assert names == ["1-1.dcm", "2-1.dcm", "3-1.dcm"]


def test_missing_numbers_still_give_unique_names() -> None:
    names = tcia_new_file_names(_rows([(None, None)] * 12))
    assert len(set(names)) == 12
    assert names[0] == "1-1.dcm" and names[-1] == "1-12.dcm"
