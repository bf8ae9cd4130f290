-- Certificate pages as immutable revisions (SQLite twin of
-- migrations/postgres/0007_certificate_pages.sql, which explains the table).
CREATE TABLE certificate_page_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id BIGINT REFERENCES courses (id) ON DELETE CASCADE,
    program_id BIGINT REFERENCES programs (id) ON DELETE CASCADE,
    page_data TEXT NOT NULL,
    created_on TEXT NOT NULL,
    CHECK ((course_id IS NULL) <> (program_id IS NULL))
);
CREATE INDEX certificate_page_revisions_course ON certificate_page_revisions (course_id, id);
CREATE INDEX certificate_page_revisions_program ON certificate_page_revisions (program_id, id);
