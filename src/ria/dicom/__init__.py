"""DICOM header reading and UIDs: the only place pydicom parses files for the catalogue."""

from ria.dicom.header import InstanceHeader, read_instance_header
from ria.dicom.uids import derive_uid, is_valid_uid

__all__ = ["InstanceHeader", "derive_uid", "is_valid_uid", "read_instance_header"]
