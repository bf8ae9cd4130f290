//! Basket workflows on both backends: claiming an anonymous basket (ecommerce scenario 28)
//! and the daily cull of idle anonymous baskets (scenario 29).

use chrono::Duration;
use mitx_core::ids::{ProductId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::BasketOwner;
use mitx_services::baskets;
use mitx_services::clock::Clock;
use mitx_services::jobs::periodic;
use mitx_services::store::audit_log::Audit;
use uuid::Uuid;

use crate::support::{World, backends, t0, world};

/// Products for the first `n` open runs of the demo catalog, at `price` each.
async fn products(w: &World, n: usize, price: &str) -> Vec<ProductId> {
    let mut out = Vec::new();
    for run in w.runs(n).await {
        let row = w
            .services
            .store()
            .list_runs()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id == run.0)
            .unwrap();
        let target = w
            .services
            .store()
            .resolve_product_target(&row.courseware_id)
            .await
            .unwrap()
            .unwrap();
        let mut tx = w.db.store.begin().await.unwrap();
        let write = tx
            .upsert_product(
                &target,
                Money::parse_price(price).unwrap(),
                "product",
                true,
                &Audit::new("test", None),
                w.services.now(),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        out.push(write.product.id);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s28_claim_moves_the_anonymous_basket_to_the_learner() {
    for db in backends().await {
        let w = world(
            db,
            false,
            Clock::fixed(t0()),
            &[("ENABLE_MULTIPLE_CART_ITEMS", "true")],
        )
        .await;
        let learner: UserId = w.learner("claimer").await;
        let items = products(&w, 4, "100.00").await;
        // The learner's old basket.
        baskets::add_to_cart(&w.services, BasketOwner::User(learner), items[3])
            .await
            .unwrap();
        let old = w
            .services
            .store()
            .basket_of(BasketOwner::User(learner))
            .await
            .unwrap()
            .unwrap();
        let anonymous = Uuid::from_u128(0x1234_5678_9abc_4def_8000_0000_0000_0001);
        let owner = BasketOwner::Anonymous(anonymous);
        for product in &items[..3] {
            baskets::add_to_cart(&w.services, owner, *product)
                .await
                .unwrap();
        }
        let before = w.services.store().basket_of(owner).await.unwrap().unwrap();
        assert_eq!(before.items.len(), 3);

        assert!(
            baskets::claim(&w.services, learner, Some(anonymous))
                .await
                .unwrap()
        );
        assert!(w.services.store().basket_of(owner).await.unwrap().is_none());
        assert!(
            w.services
                .store()
                .basket_by_id(old.basket.id)
                .await
                .unwrap()
                .is_none(),
            "old basket deleted"
        );
        let claimed = w
            .services
            .store()
            .basket_of(BasketOwner::User(learner))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.basket.id, before.basket.id);
        assert_eq!(claimed.basket.user, Some(learner));
        assert_eq!(claimed.basket.anonymous_id, None);
        assert_eq!(claimed.items.len(), 3);

        // Nothing to claim: no cookie, or an id no basket has.
        assert!(!baskets::claim(&w.services, learner, None).await.unwrap());
        assert!(
            !baskets::claim(&w.services, learner, Some(Uuid::nil()))
                .await
                .unwrap()
        );
        let still = w
            .services
            .store()
            .basket_of(BasketOwner::User(learner))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(still.basket.id, before.basket.id);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s29_cull_deletes_only_idle_anonymous_baskets() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = world(
            db,
            false,
            clock.clone(),
            &[("ANONYMOUS_BASKET_CULL_AGE", "100")],
        )
        .await;
        let learner = w.learner("keeper").await;
        let items = products(&w, 1, "10.00").await;
        let idle =
            BasketOwner::Anonymous(Uuid::from_u128(0xaaaa_0000_0000_4000_8000_0000_0000_0001));
        let fresh =
            BasketOwner::Anonymous(Uuid::from_u128(0xbbbb_0000_0000_4000_8000_0000_0000_0002));
        baskets::add_to_cart(&w.services, idle, items[0])
            .await
            .unwrap();
        baskets::add_to_cart(&w.services, BasketOwner::User(learner), items[0])
            .await
            .unwrap();
        clock.advance(Duration::seconds(200));
        baskets::add_to_cart(&w.services, fresh, items[0])
            .await
            .unwrap();

        let report = periodic::run(&w.services, periodic::CULL_ANONYMOUS_BASKETS)
            .await
            .unwrap();
        assert_eq!(report.summary, "deleted 1 anonymous basket(s)");
        let store = w.services.store();
        assert!(store.basket_of(idle).await.unwrap().is_none());
        assert!(store.basket_of(fresh).await.unwrap().is_some());
        assert!(
            store
                .basket_of(BasketOwner::User(learner))
                .await
                .unwrap()
                .is_some(),
            "user baskets are never culled"
        );
        let schedule = periodic::schedule(w.services.settings());
        let job = schedule
            .iter()
            .find(|j| j.name == periodic::CULL_ANONYMOUS_BASKETS)
            .unwrap();
        assert!(job.is_scheduled());
        w.cleanup().await;
    }
}
