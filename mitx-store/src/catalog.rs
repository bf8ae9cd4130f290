//! Catalog persistence (import, export, listings).
