-- Flexible-pricing tiers decide whether a course or program page links the
-- financial-assistance form, which the catalog API renders: their writes move the
-- catalog revision too (0003 left them out).
CREATE TRIGGER catalog_revision_flexible_price_tiers AFTER INSERT OR UPDATE OR DELETE ON flexible_price_tiers FOR EACH ROW EXECUTE FUNCTION bump_catalog_revision();
