"""docs/data-model.md documents every table and column of salesnb.data.model, with its type."""

from pathlib import Path

from salesnb.data.model import TABLES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "data-model.md").read_text()


def test_every_column_is_documented_with_its_type():
    for table in TABLES.values():
        assert f"### `{table.name}`" in DOC, table.name
        section = DOC.split(f"### `{table.name}`", 1)[1].split("### ", 1)[0]
        for column in table.columns:
            required = "yes" if column.required else "no"
            assert f"| `{column.name}` | {column.type} | {required} |" in section, (table.name, column.name)
