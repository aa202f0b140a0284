//! The service called without HTTP: scope, audit, paging, tokens, import.

use super::error::AdminError;
use super::org::{NewTeam, OrgFilter, Rename};
use super::paging::Page;
use super::testing::{CITY_TOKEN, world};
use super::{Admin, Principal};

/// The audit rows, newest first, as the city reads them.
async fn audit(admin: &Admin) -> Vec<super::ops::AuditEntry> {
    admin
        .audit_log(Principal::City, Page::default())
        .await
        .expect("the city reads the audit log")
        .items
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, AdminError>) {
    assert!(matches!(r, Err(AdminError::Forbidden(_))), "{r:?}");
}

#[tokio::test]
async fn another_townships_clerk_is_refused() {
    // Arrange
    let w = world().await;
    let (admin, a, b) = (&w.admin, &w.a, &w.b);
    // Act / Assert: b's clerk reaches none of a's rows, by id or by filter.
    forbidden(admin.village(b.clerk, a.village).await);
    forbidden(admin.team(b.clerk, a.team).await);
    forbidden(admin.township(b.clerk, a.township).await);
    forbidden(
        admin
            .villages(
                b.clerk,
                OrgFilter {
                    township_id: Some(a.township),
                    ..Default::default()
                },
            )
            .await,
    );
    forbidden(
        admin
            .rename_team(
                b.clerk,
                a.team,
                Rename {
                    name: "改名".to_string(),
                },
            )
            .await,
    );
    forbidden(admin.tokens(b.clerk, Page::default()).await);
    // Nor may it create under them; an unknown parent is a bad input.
    let team = |village_id| NewTeam {
        village_id,
        name: "新组".to_string(),
    };
    forbidden(admin.create_team(b.clerk, team(a.village)).await);
    let r = admin.create_team(b.clerk, team(9_999)).await;
    assert!(
        matches!(&r, Err(AdminError::Invalid { field, .. }) if field == "village_id"),
        "{r:?}"
    );
    // Its own rows it reaches; an unknown id is not found, not forbidden.
    assert_eq!(admin.team(b.clerk, b.team).await.unwrap().team.name, "一组");
    assert!(matches!(
        admin.team(b.clerk, 9_999).await,
        Err(AdminError::NotFound(_))
    ));
    // And a's team kept its name.
    assert_eq!(admin.team(a.clerk, a.team).await.unwrap().team.name, "一组");
    // A township clerk's lists hold its own township only.
    let seen = admin.townships(b.clerk, Page::default()).await.unwrap();
    assert_eq!(
        seen.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![b.township]
    );
}

#[tokio::test]
async fn a_change_writes_its_audit_row_and_a_refused_one_none() {
    let w = world().await;
    let (admin, a, b) = (&w.admin, &w.a, &w.b);
    let rows_before = audit(admin).await.len();

    let after = admin
        .rename_village(
            a.clerk,
            a.village,
            Rename {
                name: "  枫树村 ".to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(after.name, "枫树村");

    let log = audit(admin).await;
    assert_eq!(log.len(), rows_before + 1);
    let e = &log[0];
    assert_eq!(e.action, "village.update");
    assert_eq!(e.actor, a.clerk.actor());
    assert_eq!(e.target, format!("village:{}", a.village));
    assert_eq!(e.before.as_ref().unwrap()["name"], "下姜村");
    assert_eq!(e.after.as_ref().unwrap()["name"], "枫树村");

    // Refused (scope, then a bad name): nothing changes, nothing is logged.
    forbidden(
        admin
            .rename_village(
                b.clerk,
                a.village,
                Rename {
                    name: "别村".to_string(),
                },
            )
            .await,
    );
    let bad = admin
        .rename_village(a.clerk, a.village, Rename { name: " ".into() })
        .await;
    assert!(
        matches!(&bad, Err(AdminError::Invalid { field, .. }) if field == "name"),
        "{bad:?}"
    );
    assert_eq!(audit(admin).await.len(), rows_before + 1);
    // A township clerk's audit log is its township's: b sees none of a's change.
    let b_log = admin.audit_log(b.clerk, Page::default()).await.unwrap();
    assert!(
        b_log.items.iter().all(|e| e.actor != a.clerk.actor()),
        "{:?}",
        b_log.items
    );
}

#[tokio::test]
async fn lists_page_within_their_bounds() {
    let w = world().await;
    let admin = &w.admin;
    let page = |limit, offset| Page {
        limit: Some(limit),
        offset: Some(offset),
    };
    let second = admin.townships(Principal::City, page(1, 1)).await.unwrap();
    assert_eq!(
        (
            second.items.len(),
            second.total,
            second.limit,
            second.offset
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(second.items[0].id, w.b.township);
    let past = admin.townships(Principal::City, page(10, 5)).await.unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 2);
    for (limit, offset, field) in [(0, 0, "limit"), (501, 0, "limit"), (10, -1, "offset")] {
        let r = admin.tokens(Principal::City, page(limit, offset)).await;
        assert!(
            matches!(&r, Err(AdminError::Invalid { field: f, .. }) if f == field),
            "{limit} {offset}: {r:?}"
        );
    }
    // A list the store pages in SQL: the same shape.
    let groups = admin
        .groups(Principal::City, Default::default())
        .await
        .unwrap();
    assert_eq!((groups.total, groups.limit, groups.offset), (0, 100, 0));
}

#[tokio::test]
async fn tokens_authenticate_until_revoked() {
    let w = world().await;
    let admin = &w.admin;
    assert_eq!(
        admin.authenticate(CITY_TOKEN).await.unwrap(),
        Principal::City
    );
    for bad in ["", "nope", "lct_0000"] {
        assert!(
            matches!(
                admin.authenticate(bad).await,
                Err(AdminError::Unauthorized(_))
            ),
            "{bad:?}"
        );
    }
    let issued = admin
        .issue_token(
            Principal::City,
            super::org::NewToken {
                township_id: w.a.township,
                name: "临时".to_string(),
            },
        )
        .await
        .unwrap();
    let clerk = admin.authenticate(&issued.token).await.unwrap();
    assert_eq!(clerk.township(), Some(w.a.township));
    // Only the city revokes; then the token is refused.
    forbidden(admin.revoke_token(w.a.clerk, issued.row.id).await);
    admin
        .revoke_token(Principal::City, issued.row.id)
        .await
        .unwrap();
    assert!(matches!(
        admin.authenticate(&issued.token).await,
        Err(AdminError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn household_import_is_judged_before_it_is_read() {
    let w = world().await;
    let (admin, a, b) = (&w.admin, &w.a, &w.b);
    // Another township's village: refused before the (bad) file is parsed.
    forbidden(
        admin
            .import_households(b.clerk, a.village, None, b"\xff\xfe not a csv".to_vec())
            .await,
    );
    let csv = "姓名,小组,电话\n张三,3组,13812345678\n李四,3组,\n";
    let report = admin
        .import_households(
            a.clerk,
            a.village,
            Some("text/csv".into()),
            csv.as_bytes().to_vec(),
        )
        .await
        .unwrap();
    assert_eq!((report.inserted, report.updated, report.total), (2, 0, 2));
    let again = admin
        .import_households(a.clerk, a.village, None, csv.as_bytes().to_vec())
        .await
        .unwrap();
    assert_eq!((again.inserted, again.updated, again.total), (0, 2, 2));
    let bad = admin
        .import_households(
            a.clerk,
            a.village,
            None,
            "姓名,小组,电话\n王五,1组,12345\n".as_bytes().to_vec(),
        )
        .await;
    assert!(
        matches!(&bad, Err(AdminError::Invalid { field, line: Some(2), .. }) if field == "csv"),
        "{bad:?}"
    );
    let listed = admin
        .households(a.clerk, a.village, Page::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 2);
    assert_eq!(audit(admin).await[0].action, "households.import");
}
