"""DICOMweb (PS3.18) as plain Python: searches, retrievals and store responses a notebook can call.

The HTTP routes in :mod:`ria.api.dicomweb` stay thin over these modules.
"""
