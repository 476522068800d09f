"""ArchiveJob: renews each due document once, resumes after a crash, idempotent re-runs."""
from __future__ import annotations

import json

import pytest

from sign.ltv.archive import ArchiveJob, add_pdf_archive
from sign.ltv.ofd import add_archive, read_archives
from sign.ltv.verify_at import verify_at
from sign.ofd.package import read_zip

from .ltv_testkit import AFTER_TSA1, HORIZON, NOW, RENEWAL_TIME, signed_ofd, signed_pdf


class Crash(Exception):
    pass


class CrashingJob(ArchiveJob):
    """Dies (like a killed process) when it reaches the ``crash_at``-th document."""

    def __init__(self, *args, crash_at: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.crash_at, self.seen = crash_at, 0

    def renew_one(self, path):
        self.seen += 1
        if self.seen == self.crash_at:
            raise KeyboardInterrupt  # not caught per document: the job stops here
        return super().renew_one(path)


def _doc_timestamps(data: bytes) -> int:
    return data.count(b"/Type /DocTimeStamp")


@pytest.fixture()
def store(tmp_path, rsa_pki, sm2_pki):
    base_pdf = add_pdf_archive(signed_pdf(rsa_pki), rsa_pki.stamper1(), rsa_pki.material()).data
    base_ofd = add_archive(signed_ofd(sm2_pki), sm2_pki.stamper1(), sm2_pki.material()).data
    d = tmp_path / "docs"
    d.mkdir()
    for i in range(3):
        (d / f"policy_{i}.pdf").write_bytes(base_pdf)
    (d / "policy_3.ofd").write_bytes(base_ofd)
    (d / "notes.txt").write_text("not a document")
    return d


def _job(cls, store, rsa_pki, sm2_pki, tmp_path, **kw):
    # one TSA per family would be usual; an SM2 TSA serves both here (SM3 for OFD, SHA-256 for RSA PDFs)
    material = rsa_pki.material(RENEWAL_TIME).merged(sm2_pki.material(RENEWAL_TIME))
    return cls(store, sm2_pki.stamper2(), progress=tmp_path / "progress.json", material=material,
               horizon=HORIZON, now=RENEWAL_TIME, **kw)


def test_job_resumes_and_renews_each_file_once(store, rsa_pki, sm2_pki, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _job(CrashingJob, store, rsa_pki, sm2_pki, tmp_path, crash_at=3).run()
    progress = json.loads((tmp_path / "progress.json").read_text())["files"]
    assert sorted(progress) == [str(store / "policy_0.pdf"), str(store / "policy_1.pdf")]
    assert _doc_timestamps((store / "policy_2.pdf").read_bytes()) == 1   # untouched by the crash

    report = _job(ArchiveJob, store, rsa_pki, sm2_pki, tmp_path).run()
    status = {e.path.rsplit("/", 1)[-1]: e.status for e in report.entries}
    assert status == {"policy_0.pdf": "done_earlier", "policy_1.pdf": "done_earlier",
                      "policy_2.pdf": "renewed", "policy_3.ofd": "renewed"}
    for i in range(3):
        assert _doc_timestamps((store / f"policy_{i}.pdf").read_bytes()) == 2
    assert [a.index for a in read_archives(read_zip((store / "policy_3.ofd").read_bytes()))] == [1, 2]

    again = _job(ArchiveJob, store, rsa_pki, sm2_pki, tmp_path).run()
    assert {e.status for e in again.entries} == {"done_earlier"} and not again.renewed
    # without the progress file the horizon test still prevents a second renewal
    (tmp_path / "progress.json").unlink()
    fresh = _job(ArchiveJob, store, rsa_pki, sm2_pki, tmp_path).run()
    assert {e.status for e in fresh.entries} == {"not_due"}
    for i in range(3):
        assert _doc_timestamps((store / f"policy_{i}.pdf").read_bytes()) == 2

    trust = [rsa_pki.root, sm2_pki.root]
    for name in ("policy_0.pdf", "policy_2.pdf", "policy_3.ofd"):
        report = verify_at(store / name, trust=trust, at=AFTER_TSA1)
        assert report.valid, (name, report.to_dict())
    assert json.loads(json.dumps(again.to_dict()))["renewed"] == 0


def test_job_reports_errors_and_goes_on(tmp_path, rsa_pki, sm2_pki):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really")
    (d / "ok.pdf").write_bytes(add_pdf_archive(signed_pdf(rsa_pki), rsa_pki.stamper1(),
                                               rsa_pki.material()).data)
    report = ArchiveJob(d, rsa_pki.stamper2(), progress=tmp_path / "p.json", horizon=HORIZON,
                        now=RENEWAL_TIME).run()
    assert [e.status for e in report.entries] == ["error", "renewed"]
    assert report.errors == (str(d / "broken.pdf"),)
    assert NOW < RENEWAL_TIME


def test_progress_file_reused_later_renews_again_when_due(tmp_path, rsa_pki):
    """A periodic job keeps its progress file: a document recorded "not due" is renewed once due."""
    d = tmp_path / "docs"
    d.mkdir()
    doc = d / "p.pdf"
    doc.write_bytes(add_pdf_archive(signed_pdf(rsa_pki), rsa_pki.stamper1(), rsa_pki.material()).data)
    progress = tmp_path / "p.json"
    first = ArchiveJob(d, rsa_pki.stamper2(NOW), progress=progress, horizon=HORIZON, now=NOW).run()
    assert [e.status for e in first.entries] == ["not_due"]
    assert [e.status for e in ArchiveJob(d, rsa_pki.stamper2(NOW), progress=progress, horizon=HORIZON,
                                         now=NOW).run().entries] == ["done_earlier"]
    later = ArchiveJob(d, rsa_pki.stamper2(), progress=progress, horizon=HORIZON, now=RENEWAL_TIME).run()
    assert [e.status for e in later.entries] == ["renewed"]
    assert _doc_timestamps(doc.read_bytes()) == 2
