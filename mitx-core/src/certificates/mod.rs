//! Course-run and program certificate decisions (courses spec sections 3.1-3.7).
