"""tools/prisma_schema.py reads what the generator needs from schema.prisma."""

from __future__ import annotations

from pathlib import Path

from tools.prisma_schema import load_schema, parse_schema


def test_maps_comments_named_relations_and_enum_maps() -> None:
    schema = parse_schema(
        """
        // a comment with { braces }
        enum Color {
          RED   @map("red")
          GREEN // trailing
          @@map("colors")
        }
        model Node {
          id       String  @id @default(cuid(2)) @map("node_id") /// doc
          parentId String? @map("parent_id")
          parent   Node?   @relation("Tree", fields: [parentId], references: [id])
          children Node[]  @relation("Tree")
          label    String  @default("a // not a comment, (really)")
          @@map("nodes")
          @@index([parentId(sort: Desc)])
        }
        """
    )
    color = schema.enums["Color"]
    assert color.db_name == "colors"
    assert color.values == [("RED", "red"), ("GREEN", "GREEN")]
    assert schema.enum_for_type("colors") is color
    node = schema.models["Node"]
    assert node.db_name == "nodes"
    assert node.field_by_column("node_id").default == "cuid(2)"  # type: ignore[union-attr]
    label = node.field_by_name("label")
    assert label is not None
    assert label.default == '"a // not a comment, (really)"'
    parent, children = node.field_by_name("parent"), node.field_by_name("children")
    assert parent is not None
    assert children is not None
    assert schema.relation_of(node, parent).name == "Tree"
    assert schema.relation_of(node, parent).fields == ["parentId"]
    assert schema.relation_of(node, children).name == "Tree"
    assert schema.relation_of(node, children).fields == []


MULTIFILE = Path(__file__).parent / "edge_prisma_multifile"


def test_prisma_config_names_the_schema_folder() -> None:
    schema = load_schema(MULTIFILE)
    assert schema is not None
    assert [f.relative_to(MULTIFILE).as_posix() for f in schema.files] == [
        "schema/models/dashboard.prisma",
        "schema/models/org.prisma",
        "schema/models/user.prisma",
        "schema/schema.prisma",
    ]
    assert "Legacy" not in schema.models  # legacy/ lies outside the configured folder
    assert schema.relation_mode == "prisma"
    assert schema.models["AuditTrail"].ignored
    field = schema.models["Field"]
    assert field.field_by_name("legacy").ignored  # type: ignore[union-attr]
    assert [f.name for f in schema.relation_fields(field)] == ["Dashboard"]
    assert schema.models["Setting"].id_fields() == ["scope", "key"]
    assert schema.enums["ChartKind"].values[0] == ("BAR_CHART", "bar-chart")
    user = schema.models["User"]
    profile = user.field_by_name("profile")
    assert profile is not None
    assert schema.opposite(user, profile) is schema.models["Profile"].field_by_name("user")
    followers, following = user.field_by_name("followers"), user.field_by_name("following")
    assert followers is not None
    assert following is not None
    assert schema.is_side_a(user, followers)  # self-relation: the field named first
    assert not schema.is_side_a(user, following)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


MODEL = "model {name} {{\n  id Int @id\n}}\n"


def test_schema_folder_layouts_without_config(tmp_path: Path) -> None:
    """Every *.prisma under the folder, recursively, migrations/ excepted."""
    write(tmp_path / "schema.prisma", 'datasource db {\n  provider = "postgresql"\n}\n')
    write(tmp_path / "models" / "a.prisma", MODEL.format(name="A"))
    write(tmp_path / "schema" / "deep" / "b.prisma", MODEL.format(name="B"))
    write(tmp_path / "migrations" / "x" / "stray.prisma", MODEL.format(name="Stray"))
    schema = load_schema(tmp_path)
    assert schema is not None
    assert set(schema.models) == {"A", "B"}
    assert schema.relation_mode == "foreignKeys"


def test_prisma_config_in_the_parent_may_name_a_file(tmp_path: Path) -> None:
    prisma_dir = tmp_path / "prisma"
    write(prisma_dir / "main.prisma", MODEL.format(name="Main"))
    write(prisma_dir / "other.prisma", MODEL.format(name="Other"))
    write(
        tmp_path / "prisma.config.ts",
        'import { defineConfig } from "prisma/config";\n'
        "export default defineConfig({\n  // schema: 'nowhere',\n"
        "  schema: 'prisma/main.prisma',\n});\n",
    )
    schema = load_schema(prisma_dir)
    assert schema is not None
    assert set(schema.models) == {"Main"}


def test_no_schema_file(tmp_path: Path) -> None:
    assert load_schema(tmp_path) is None


def test_a_parent_config_naming_another_folder_is_not_followed(tmp_path: Path) -> None:
    prisma_dir = tmp_path / "prisma"
    write(prisma_dir / "schema.prisma", MODEL.format(name="Mine"))
    write(tmp_path / "elsewhere" / "schema.prisma", MODEL.format(name="Theirs"))
    write(tmp_path / "prisma.config.ts", "export default { schema: 'elsewhere' }\n")
    schema = load_schema(prisma_dir)
    assert schema is not None
    assert set(schema.models) == {"Mine"}
