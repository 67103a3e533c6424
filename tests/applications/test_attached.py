"""The application workflow reads the attachments table through a lightweight table of its own (the
attachments package depends on the applications package, not the other way round): its columns are the
model's."""

from app.applications.attached import ATTACHMENTS
from app.attachments.models import Attachment


def test_the_lightweight_table_names_columns_of_the_model() -> None:
    model = Attachment.__table__  # type: ignore[attr-defined]
    assert ATTACHMENTS.name == model.name
    for column in ATTACHMENTS.c:
        assert column.name in model.c
        assert column.type._type_affinity is model.c[column.name].type._type_affinity
