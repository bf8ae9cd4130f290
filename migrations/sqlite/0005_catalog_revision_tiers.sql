-- Flexible-pricing tiers decide whether a course or program page links the
-- financial-assistance form, which the catalog API renders: their writes move the
-- catalog revision too (0003 left them out).
CREATE TRIGGER catalog_revision_flexible_price_tiers_insert AFTER INSERT ON flexible_price_tiers BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_flexible_price_tiers_update AFTER UPDATE ON flexible_price_tiers BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_revision_flexible_price_tiers_delete AFTER DELETE ON flexible_price_tiers BEGIN UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1; END;
