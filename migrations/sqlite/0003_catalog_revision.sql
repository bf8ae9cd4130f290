-- Catalog revision: a counter bumped by triggers whenever a table that the public catalog
-- API renders changes, so servers can reuse rendered responses until it moves (SQLite twin
-- of migrations/postgres/0003_catalog_revision.sql; SQLite triggers are per row).
CREATE TABLE catalog_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO catalog_revision (id, revision) VALUES (1, 0);

CREATE TRIGGER catalog_revision_departments_insert AFTER INSERT ON departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_departments_update AFTER UPDATE ON departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_departments_delete AFTER DELETE ON departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_courses_insert AFTER INSERT ON courses BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_courses_update AFTER UPDATE ON courses BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_courses_delete AFTER DELETE ON courses BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_departments_insert AFTER INSERT ON course_departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_departments_update AFTER UPDATE ON course_departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_departments_delete AFTER DELETE ON course_departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_blocked_countries_insert AFTER INSERT ON blocked_countries BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_blocked_countries_update AFTER UPDATE ON blocked_countries BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_blocked_countries_delete AFTER DELETE ON blocked_countries BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_runs_insert AFTER INSERT ON course_runs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_runs_update AFTER UPDATE ON course_runs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_runs_delete AFTER DELETE ON course_runs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_programs_insert AFTER INSERT ON programs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_programs_update AFTER UPDATE ON programs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_programs_delete AFTER DELETE ON programs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_departments_insert AFTER INSERT ON program_departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_departments_update AFTER UPDATE ON program_departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_departments_delete AFTER DELETE ON program_departments BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_related_programs_insert AFTER INSERT ON related_programs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_related_programs_update AFTER UPDATE ON related_programs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_related_programs_delete AFTER DELETE ON related_programs BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_requirements_insert AFTER INSERT ON program_requirements BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_requirements_update AFTER UPDATE ON program_requirements BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_requirements_delete AFTER DELETE ON program_requirements BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_pages_insert AFTER INSERT ON pages BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_pages_update AFTER UPDATE ON pages BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_pages_delete AFTER DELETE ON pages BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_products_insert AFTER INSERT ON products BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_products_update AFTER UPDATE ON products BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_products_delete AFTER DELETE ON products BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_collections_insert AFTER INSERT ON program_collections BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_collections_update AFTER UPDATE ON program_collections BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_collections_delete AFTER DELETE ON program_collections BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_collection_items_insert AFTER INSERT ON program_collection_items BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_collection_items_update AFTER UPDATE ON program_collection_items BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_program_collection_items_delete AFTER DELETE ON program_collection_items BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_variant_options_insert AFTER INSERT ON course_variant_options BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_variant_options_update AFTER UPDATE ON course_variant_options BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_course_variant_options_delete AFTER DELETE ON course_variant_options BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
