//! Users: creation with legal address and profile, lookups by id, username or email,
//! case-insensitive email uniqueness, listing with search.

use chrono::{DateTime, TimeZone, Utc};
use mitx_store::StoreError;
use mitx_store::users::{NewUser, UserKey};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn alice() -> NewUser {
    NewUser {
        username: "alice".into(),
        email: "Alice@Example.com".into(),
        name: "Alice Liddell".into(),
        is_staff: true,
        is_superuser: false,
        country: Some("US".into()),
    }
}

conformance!(create_user_with_address_and_profile_then_look_up, |db| {
    let store = &db.store;
    let created = tx!(store, t => t.create_user(&alice(), now()).await).unwrap();
    assert_eq!(created.user.username, "alice");
    assert!(created.user.is_staff && !created.user.is_superuser && created.user.is_active);
    assert_eq!(created.user.created_on, now());
    let id = created.user.id;

    for key in [
        "alice",
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
        &id.0.to_string(),
    ] {
        let detail = store.user_detail(&UserKey::parse(key)).await.unwrap();
        assert_eq!(detail.user.id, id, "{key}");
        let address = detail.legal_address.expect("legal address");
        assert_eq!(address.country.as_deref(), Some("US"));
        assert_eq!(address.first_name, "Alice");
        assert_eq!(address.last_name, "Liddell");
        assert!(detail.user_profile.is_some());
    }
    let missing = store
        .user_detail(&UserKey::parse("nobody"))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing}");
    assert_eq!(missing.to_string(), "user 'nobody' not found");
});

conformance!(emails_and_usernames_are_unique, |db| {
    let store = &db.store;
    tx!(store, t => t.create_user(&alice(), now()).await).unwrap();
    let same_email = NewUser {
        username: "alice2".into(),
        email: "alice@EXAMPLE.com".into(),
        ..alice()
    };
    let err = tx!(store, t => t.create_user(&same_email, now()).await).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "A user with email alice@EXAMPLE.com already exists."
    );
    let same_username = NewUser {
        email: "other@example.com".into(),
        ..alice()
    };
    let err = tx!(store, t => t.create_user(&same_username, now()).await).unwrap_err();
    assert_eq!(
        err.to_string(),
        "A user with username alice already exists."
    );
    // Nothing half-written.
    assert_eq!(store.list_users(None, 100).await.unwrap().len(), 1);
});

conformance!(list_users_searches_and_limits, |db| {
    let store = &db.store;
    for (username, name) in [
        ("bob", "Bob Builder"),
        ("carol", "Carol Danvers"),
        ("dave", "Dave 50%"),
    ] {
        tx!(store, t => t.create_user(
                &NewUser {
                    username: username.into(),
                    email: format!("{username}@example.org"),
                    name: name.into(),
                    ..NewUser::default()
                },
                now(),
            ).await)
        .unwrap();
    }
    let all = store.list_users(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(),
        ["bob", "carol", "dave"]
    );
    assert_eq!(store.list_users(None, 2).await.unwrap().len(), 2);
    let found = store.list_users(Some("DANVERS"), 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].username, "carol");
    assert_eq!(
        store
            .list_users(Some("example.org"), 10)
            .await
            .unwrap()
            .len(),
        3
    );
    // LIKE wildcards in the search are literal.
    let percent = store.list_users(Some("50%"), 10).await.unwrap();
    assert_eq!(percent.len(), 1);
    assert_eq!(store.list_users(Some("%"), 10).await.unwrap().len(), 1);
    assert!(store.list_users(Some("zzz"), 10).await.unwrap().is_empty());
});
