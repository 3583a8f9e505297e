"""tools/prisma_schema.py reads what the generator needs from schema.prisma."""

from __future__ import annotations

from tools.prisma_schema import load_schema, parse_schema

from .conftest import PRISMA_DIR


def test_project_schema() -> None:
    schema = load_schema(PRISMA_DIR)
    assert schema is not None
    assert set(schema.models) == {"User", "Page", "Tag", "PageRevision", "PublishedPage"}
    assert schema.models["PublishedPage"].kind == "view"
    assert schema.models["PublishedPage"].id_fields() == ["id"]
    assert [v for v, _ in schema.enums["PageStatus"].values][-1] == "SCHEDULED"

    revision = schema.models["PageRevision"]
    assert revision.db_name == "page_revisions"
    assert schema.model_for_table("page_revisions") is revision
    assert revision.field_by_column("page_id").name == "pageId"  # type: ignore[union-attr]
    external = revision.field_by_name("externalId")
    assert external is not None
    assert external.default == "uuid()"
    assert external.native_type == "Uuid"
    assert revision.field_by_name("editedAt").updated_at  # type: ignore[union-attr]

    page = schema.models["Page"]
    assert page.field_by_name("id").default == "cuid()"  # type: ignore[union-attr]
    author = page.field_by_name("author")
    assert author is not None
    relation = schema.relation_of(page, author)
    assert (relation.name, relation.fields, relation.references) == (
        "PageToUser",
        ["authorId"],
        ["id"],
    )
    tag_items = page.field_by_name("tagItems")
    assert tag_items is not None
    assert tag_items.is_list
    assert schema.relation_of(page, tag_items).name == "PageToTag"


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
