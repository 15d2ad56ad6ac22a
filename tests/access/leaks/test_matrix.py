"""The leak matrix over HTTP: every route x every caller, on SQLite and PostgreSQL.

Callers: anonymous (no header), the ISS group of restricted collection A (a user of site 18, TCGA-LUSC), that
of restricted B (site 04, TCGA-OV), the grantee of limited C (TCGA-GBM), and an administrator (sees all: the
non-vacuous baseline); a revoked token must get 401 everywhere a caller is resolved. P (TCGA-LUAD) is public;
D (TCGA-KIRC) is restricted until its publication embargo ends (see test_time_travel.py).

For each caller x route x asked-about collection (A, B, C, P, D and one that does not exist):

* no identifier (collection name, DOI, PatientID, Study/Series/SOPInstanceUID) of a collection the caller
  may not see occurs in the body, the headers, or — for zips — any member's name or content;
* asking about a forbidden collection's identifiers gives the same status, media type, header names and
  body (asked-for values replaced by placeholders, time stamps by a mark) as asking about ones that exist
  nowhere;
* asking about a visible one answers 2xx and shows it (``Entry.shows``).

Counts, totals and value lists: test_counts.py; DICOM networking: test_dimse.py.

Routes covered (145 method x path pairs, 187 matrix entries; the table is routes.py,
and test_every_route_has_an_entry fails for any route of the app without one):

GET /api/v1/openapi.json
GET /api/v1/docs
HEAD /api/v1/docs
HEAD /api/v1/openapi.json
GET /docs/oauth2-redirect
HEAD /docs/oauth2-redirect
GET /api/v1/health
POST /nbia-api/oauth/token
GET /nbia-api/services/v1/getCollectionValues
GET /nbia-api/services/v1/getModalityValues
GET /nbia-api/services/v1/getBodyPartValues
GET /nbia-api/services/v1/getManufacturerValues
GET /nbia-api/services/v1/getPatient
GET /nbia-api/services/v1/getPatientByCollectionAndModality
GET /nbia-api/services/v1/NewPatientsInCollection
GET /nbia-api/services/v1/getPatientStudy
GET /nbia-api/services/v1/NewStudiesInPatientCollection
GET /nbia-api/services/v1/getSeries
GET /nbia-api/services/v1/getUpdatedSeries
GET /nbia-api/services/v1/getSeriesSize
GET /nbia-api/services/v1/getSOPInstanceUIDs
GET /nbia-api/services/v1/getImage
GET /nbia-api/services/v1/getImageWithMD5Hash
GET /nbia-api/services/v1/getSingleImage
HEAD /nbia-api/services/v1/getSingleImage
GET /nbia-api/services/v1/getSeriesMetaData
GET /nbia-api/services/v2/getCollectionValues
GET /nbia-api/services/v2/getModalityValues
GET /nbia-api/services/v2/getBodyPartValues
GET /nbia-api/services/v2/getManufacturerValues
GET /nbia-api/services/v2/getPatient
GET /nbia-api/services/v2/getPatientByCollectionAndModality
GET /nbia-api/services/v2/NewPatientsInCollection
GET /nbia-api/services/v2/getPatientStudy
GET /nbia-api/services/v2/NewStudiesInPatientCollection
GET /nbia-api/services/v2/getSeries
GET /nbia-api/services/v2/getUpdatedSeries
GET /nbia-api/services/v2/getSeriesSize
GET /nbia-api/services/v2/getSOPInstanceUIDs
GET /nbia-api/services/v2/getImage
GET /nbia-api/services/v2/getImageWithMD5Hash
GET /nbia-api/services/v2/getSingleImage
HEAD /nbia-api/services/v2/getSingleImage
GET /nbia-api/services/v2/getSeriesMetaData
GET /nbia-api/services/v4/getCollectionValues
GET /nbia-api/services/v4/getModalityValues
GET /nbia-api/services/v4/getBodyPartValues
GET /nbia-api/services/v4/getManufacturerValues
GET /nbia-api/services/v4/getPatient
GET /nbia-api/services/v4/getPatientByCollectionAndModality
GET /nbia-api/services/v4/NewPatientsInCollection
GET /nbia-api/services/v4/getPatientStudy
GET /nbia-api/services/v4/NewStudiesInPatientCollection
GET /nbia-api/services/v4/getSeries
GET /nbia-api/services/v4/getUpdatedSeries
GET /nbia-api/services/v4/getSeriesSize
GET /nbia-api/services/v4/getSOPInstanceUIDs
GET /nbia-api/services/v4/getImage
GET /nbia-api/services/v4/getImageWithMD5Hash
GET /nbia-api/services/v4/getSingleImage
HEAD /nbia-api/services/v4/getSingleImage
POST /nbia-api/services/v4/getSeriesMetadata
POST /nbia-api/services/v4/getSimpleSearch
POST /nbia-api/services/v4/getManifestForSimpleSearch
POST /nbia-api/services/v4/getManifestText
POST /nbia-api/services/v4/getManifestFromPatientStudySeries
POST /nbia-api/services/v4/getManifestForCollection
GET /nbia-api/services/v4/getCollectionValuesAndCounts
GET /nbia-api/services/v4/getModalityValuesAndCounts
GET /nbia-api/services/v4/getBodyPartValuesAndCounts
GET /nbia-api/services/v4/getManufacturerValuesAndCounts
GET /nbia-api/services/v4/getSpeciesValuesAndCounts
GET /nbia-api/services/v4/getSpeciesTax
GET /nbia-api/services/v4/getCollectionDescriptions
POST /nbia-api/services/v4/getCollectionOrSeriesForDOI
GET /nbia-api/services/v4/getDicomTags
GET /nbia-api/services/v4/getMD5HashForImage
POST /nbia-api/services/v4/getMD5Hierarchy
GET /nbia-api/services/v4/getMinMaxTimepoints
GET /api/v1/collections
GET /api/v1/manifest
POST /api/v1/carts
GET /api/v1/carts/{name}
POST /nbia-api/services/createSharedList
GET /nbia-api/services/v1/getContentsByName
POST /api/v1/cohorts/query
POST /api/v1/cohorts/survival
GET /api/v1/cohorts/fields
GET /api/v1/genomics/linkage
GET /api/v1/collections/{name}/accrual
GET /api/v1/collections/{name}/governance
PUT /api/v1/collections/{name}/governance
GET /api/v1/audit
GET /api/v1/citations
POST /api/v1/citations
GET /api/v1/me
POST /api/v1/tokens/revoke
GET /dicomweb/studies
GET /dicomweb/series
GET /dicomweb/studies/{study}/series
GET /dicomweb/instances
GET /dicomweb/studies/{study}/instances
GET /dicomweb/studies/{study}/series/{series}/instances
GET /dicomweb/studies/{study}
GET /dicomweb/studies/{study}/series/{series}
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}
GET /dicomweb/studies/{study}/metadata
GET /dicomweb/studies/{study}/series/{series}/metadata
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/metadata
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/{frames}
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/frames
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/bulkdata/{path:path}
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/rendered
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/{frame}/rendered
GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/thumbnail
GET /dicomweb/studies/{study}/series/{series}/thumbnail
GET /dicomweb/studies/{study}/series/{series}/rendered
GET /dicomweb/studies/{study}/rendered
GET /dicomweb/studies/{study}/thumbnail
GET /dicomweb/wado
POST /dicomweb/studies
POST /dicomweb/studies/{study}
GET /dicomweb/collections/{collection}/studies
GET /dicomweb/collections/{collection}/series
GET /dicomweb/collections/{collection}/studies/{study}/series
GET /dicomweb/collections/{collection}/instances
GET /dicomweb/collections/{collection}/studies/{study}/instances
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances
GET /dicomweb/collections/{collection}/studies/{study}
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}
GET /dicomweb/collections/{collection}/studies/{study}/metadata
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/metadata
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}/metadata
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}/frames/{frames}
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}/frames
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}/bulkdata/{path:path}
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}/rendered
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}/frames/{frame}/rendered
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/instances/{sop}/thumbnail
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/thumbnail
GET /dicomweb/collections/{collection}/studies/{study}/series/{series}/rendered
GET /dicomweb/collections/{collection}/studies/{study}/rendered
GET /dicomweb/collections/{collection}/studies/{study}/thumbnail
GET /dicomweb/collections/{collection}/wado
POST /dicomweb/collections/{collection}/studies
POST /dicomweb/collections/{collection}/studies/{study}
"""

from __future__ import annotations

import pytest
from fastapi.routing import iter_route_contexts

from ria.api import create_app
from tests.access.leaks.checks import comparable, exposed, found, send
from tests.access.leaks.conftest import Served
from tests.access.leaks.routes import Entry, entries
from tests.access.leaks.world import ALL, MISSING

ENTRIES = entries()
CALLERS = ("anonymous", "member-a", "member-b", "grantee-c", "admin")


def _id(entry: Entry) -> str:
    return f"{ENTRIES.index(entry):03d}-{entry.method}-{entry.path}"


def test_every_route_has_an_entry(served: Served) -> None:
    """A new route without a matrix entry fails here, listed; so does an entry for a route that is gone."""
    app = create_app(served.world.archive)
    declared = {
        (method, str(context.path))
        for context in iter_route_contexts(app.routes)
        for method in context.methods or ()
    }
    covered = {entry.key for entry in ENTRIES}
    assert sorted(declared - covered) == [], "routes with no leak-matrix entry (tests/access/leaks/routes.py)"
    assert sorted(covered - declared) == [], "matrix entries for routes the app no longer has"
    assert all(entry.static is None or not entry.principal for entry in ENTRIES)


def test_the_docstring_lists_every_route() -> None:
    """The issue's note cites this module's docstring as the list of covered routes: keep it complete."""
    listed = {line.strip() for line in (__doc__ or "").splitlines()}
    assert sorted({entry.label for entry in ENTRIES} - listed) == []


@pytest.mark.parametrize("caller_name", CALLERS)
@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_nothing_outside_the_callers_rights_appears(served: Served, entry: Entry, caller_name: str) -> None:
    """Forbidden identifiers never appear; forbidden equals missing; what is visible does appear."""
    world, client = served.world, served.client
    caller = world.callers[caller_name]
    forbidden = world.forbidden_tokens(caller)
    answers = entry.answers and not (entry.signed_in and caller.token is None)
    if not entry.targeted:
        response = send(client, entry.call(MISSING), caller.headers)
        assert response.status_code < 500, response.text[:300]
        assert found(exposed(response), forbidden) == [], f"{entry.label} leaks to {caller_name}"
        if answers:
            assert response.status_code < 300, f"{entry.label}: {response.text[:300]}"
            text = exposed(response)
            for name in sorted(caller.visible):
                assert found(text, entry.shows(world.targets[name])) == sorted(
                    entry.shows(world.targets[name])
                )
        return
    missing = send(client, entry.call(MISSING), caller.headers)
    assert missing.status_code < 500, missing.text[:300]
    assert found(exposed(missing), forbidden) == [], f"{entry.label} (missing target) leaks to {caller_name}"
    for name in ALL:
        target = world.targets[name]
        response = send(client, entry.call(target), caller.headers)
        assert response.status_code < 500, response.text[:300]
        asked = set(target.placeholders())
        leaked = found(exposed(response), forbidden - asked)
        assert leaked == [], f"{entry.label} about {name} leaks {leaked[:3]} to {caller_name}"
        if name in caller.visible:
            if answers:
                assert response.status_code < 300, (
                    f"{entry.label} about visible {name}: {response.text[:300]}"
                )
                shown = entry.shows(target)
                assert found(exposed(response), shown) == sorted(shown), f"{entry.label} hides {name}"
        else:
            assert comparable(response, target) == comparable(missing, MISSING), (
                f"{entry.label}: asking {caller_name} about forbidden {name} differs from asking about none"
            )


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.principal], ids=_id)
def test_a_revoked_token_is_refused_never_downgraded(served: Served, entry: Entry) -> None:
    world = served.world
    target = world.targets[ALL[0]] if entry.targeted else MISSING
    response = send(served.client, entry.call(target), {"Authorization": f"Bearer {world.revoked_token}"})
    assert response.status_code == 401, f"{entry.label}: {response.status_code} {response.text[:200]}"
    assert (
        found(
            exposed(response), world.forbidden_tokens(world.callers["anonymous"]) - set(target.placeholders())
        )
        == []
    )
