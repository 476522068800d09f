"""Document engine: templates, fill, form building, storage, desensitised and print copies,
comparison. See documents/README.md."""
from .errors import (BuildError, CompareError, DocumentError, FillError, FontError, PdfInputError,
                     StorageError, TemplateError)
from .template import ColumnDef, FieldDef, SignPosition, TemplateDef

__all__ = ["BuildError", "CompareError", "DocumentError", "FillError", "FontError", "PdfInputError",
           "StorageError", "TemplateError", "ColumnDef", "FieldDef", "SignPosition", "TemplateDef"]
