-- Catalog revision: a counter bumped by triggers whenever a table that the public catalog
-- API renders changes, so servers can reuse rendered responses until it moves. Row-level
-- triggers: an UPDATE that changes no row (the idempotent import) must not move it.
CREATE TABLE catalog_revision (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO catalog_revision (id, revision) VALUES (1, 0);

CREATE FUNCTION bump_catalog_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER catalog_revision_departments AFTER INSERT OR UPDATE OR DELETE ON departments FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_courses AFTER INSERT OR UPDATE OR DELETE ON courses FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_course_departments AFTER INSERT OR UPDATE OR DELETE ON course_departments FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_blocked_countries AFTER INSERT OR UPDATE OR DELETE ON blocked_countries FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_course_runs AFTER INSERT OR UPDATE OR DELETE ON course_runs FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_programs AFTER INSERT OR UPDATE OR DELETE ON programs FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_program_departments AFTER INSERT OR UPDATE OR DELETE ON program_departments FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_related_programs AFTER INSERT OR UPDATE OR DELETE ON related_programs FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_program_requirements AFTER INSERT OR UPDATE OR DELETE ON program_requirements FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_pages AFTER INSERT OR UPDATE OR DELETE ON pages FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_products AFTER INSERT OR UPDATE OR DELETE ON products FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_program_collections AFTER INSERT OR UPDATE OR DELETE ON program_collections FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_program_collection_items AFTER INSERT OR UPDATE OR DELETE ON program_collection_items FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER catalog_revision_course_variant_options AFTER INSERT OR UPDATE OR DELETE ON course_variant_options FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
