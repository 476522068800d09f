"""Structure reading: page-tree descent, /Prev chain, inherited attributes untouched."""
from __future__ import annotations

import pikepdf

from sign.pdf import sign_pdf
from sign.pdf.structure import PdfStructure
from sign.specs import AppearanceSpec, SignatureSpec

from .pdf_testkit import pdfsig_validations, pyhanko_status


def _nested_tree_pdf(path, n=7):
    """Pages split over two intermediate /Pages nodes, /MediaBox inherited from the root."""
    pdf = pikepdf.new()
    for i in range(n):
        pdf.add_blank_page(page_size=(400 + i, 500))
    pages = [p.obj for p in pdf.pages]
    for p in pages:
        del p["/MediaBox"]
    root = pdf.Root.Pages
    a = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Pages, Parent=root,
                                             Kids=pages[:3], Count=3))
    b = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Pages, Parent=root,
                                             Kids=pages[3:], Count=n - 3))
    for p in pages[:3]:
        p.Parent = a
    for p in pages[3:]:
        p.Parent = b
    root.Kids = [a, b]
    root.Count = n
    root.MediaBox = [10, 20, 410, 520]
    for i, p in enumerate(pages):
        p.Marker = i
    pdf.save(path)


def test_page_descent_matches_qpdf(tmp_path):
    src = tmp_path / "nested.pdf"
    _nested_tree_pdf(src)
    with PdfStructure(src) as st:
        assert st.page_count == 7
        for i in range(7):
            assert int(st.page(i).obj.Marker) == i


def test_sign_on_nested_page_with_inherited_mediabox(tmp_path, rsa_signer, rsa_identity, png_seal):
    src = tmp_path / "nested.pdf"
    _nested_tree_pdf(src)
    out = tmp_path / "out.pdf"
    sign_pdf(src, out, rsa_signer, SignatureSpec(
        appearance=AppearanceSpec(image=png_seal, page=5, rect=(0, 0, 50, 50))))
    with pikepdf.open(out, inherit_page_attributes=False) as pdf:
        page = pdf.pages[4].obj
        assert int(page.Marker) == 4
        assert "/MediaBox" not in page  # inherited attributes are not pushed down
        assert [float(v) for v in page.Annots[0].Rect] == [10, 20, 60, 70]  # MediaBox origin
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid


def test_prev_chain(tmp_path, simple_pdf, rsa_signer):
    one, two = tmp_path / "1.pdf", tmp_path / "2.pdf"
    sign_pdf(simple_pdf, one, rsa_signer)
    sign_pdf(one, two, rsa_signer)
    with PdfStructure(simple_pdf) as s0, PdfStructure(one) as s1, PdfStructure(two) as s2:
        assert s1.xref.startxref > s0.length and s2.xref.startxref > s1.length
        tail2 = two.read_bytes()[s1.length:]
        assert b"/Prev %d" % s1.xref.startxref in tail2
        tail1 = one.read_bytes()[s0.length:]
        assert b"/Prev %d" % s0.xref.startxref in tail1
        assert s2.next_object_number() > s1.next_object_number() > s0.next_object_number()


def test_startxref_off_by_one_is_repaired(tmp_path, simple_pdf, rsa_signer, rsa_identity):
    data = bytearray(simple_pdf.read_bytes())
    i = data.rindex(b"startxref")
    real = int(data[i + 9:].split()[0])
    data[i:] = b"startxref\n%d\n%%%%EOF\n" % (real + 1)
    src = tmp_path / "off.pdf"
    src.write_bytes(bytes(data))
    out = tmp_path / "out.pdf"
    sign_pdf(src, out, rsa_signer)
    assert b"/Prev %d " % real in out.read_bytes()[len(data):]
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid


def test_trailer_size_too_small(tmp_path, simple_pdf, rsa_signer, rsa_identity):
    data = simple_pdf.read_bytes()
    with PdfStructure(simple_pdf) as st:
        size = st.next_object_number()
    bad = data.replace(b"/Size %d" % size, b"/Size %d" % (size - 2))
    assert bad != data
    src = tmp_path / "small-size.pdf"
    src.write_bytes(bad)
    with PdfStructure(src) as st:
        assert st.next_object_number() >= size
    out = tmp_path / "out.pdf"
    sign_pdf(src, out, rsa_signer)
    # (pyHanko's strict reader refuses the *input's* bad /Size; poppler checks the signature)
    assert pdfsig_validations(out) == ["Signature is Valid."]
    with pikepdf.open(out) as pdf, pikepdf.open(simple_pdf) as orig:
        # no existing object was replaced by one of ours
        assert len(pdf.pages) == 1
        assert (pdf.pages[0].obj.Contents.read_bytes()
                == orig.pages[0].obj.Contents.read_bytes())
