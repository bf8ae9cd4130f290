//! User profile and legal-address rules that need no I/O (integrations spec section 4).
