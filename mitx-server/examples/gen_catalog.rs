//! Writes a large synthetic catalog (for load tests) in the import format.
//!
//! ```sh
//! cargo run -p mitx-server --example gen_catalog -- 1000 3 100 > /tmp/big-catalog.json
//! ```
//! Arguments: courses (default 1000), runs per course (default 3), programs (default 0,
//! so the catalogs of earlier measurements stay reproducible).
//! Every program is live with a live page and requires 10 courses: 8 required and an
//! elective group of 2 out of 3 (program `p` uses courses `10p`, `10p+1`, … modulo the
//! course count, so courses are shared when there are more programs than courses / 10).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let courses: usize = args.first().map_or(1000, |s| s.parse().unwrap());
    let runs: usize = args.get(1).map_or(3, |s| s.parse().unwrap());
    let programs: usize = args.get(2).map_or(0, |s| s.parse().unwrap());
    let departments = [
        "Economics",
        "Mathematics",
        "Physics",
        "Biology",
        "Computer Science",
    ];
    let course_docs: Vec<_> = (0..courses)
        .map(|i| {
            let id = format!("course-v1:LOADx+{i:05}x");
            let run_docs: Vec<_> = (0..runs)
                .map(|r| {
                    let year = 2025 + r;
                    json!({
                        "courseware_id": format!("{id}+1T{year}"), "run_tag": format!("1T{year}"),
                        "start_date": format!("{year}-02-01T00:00:00Z"), "end_date": format!("{year}-12-01T00:00:00Z"),
                        "enrollment_start": format!("{}-11-01T00:00:00Z", year - 1), "enrollment_end": null,
                        "upgrade_deadline": format!("{year}-11-01T00:00:00Z"), "live": true,
                        "is_self_paced": r % 2 == 1, "modes": ["audit", "verified"], "price": "100.00"
                    })
                })
                .collect();
            json!({
                "readable_id": id, "title": format!("Load Test Course {i:05}"), "live": i % 10 != 0,
                "departments": [departments[i % departments.len()]],
                "page": {"description": "A synthetic course for load tests.", "feature_image_src": "https://example.invalid/x.jpg",
                         "instructors": [{"name": "Ada Lovelace", "title": "Professor"}], "length": "10 weeks",
                         "effort": "5 hours per week", "topics": ["Load"], "live": true},
                "runs": run_docs
            })
        })
        .collect();
    let course_id = |n: usize| format!("course-v1:LOADx+{:05}x", n % courses.max(1));
    let program_docs: Vec<_> = (0..programs)
        .filter(|_| courses > 0)
        .map(|p| {
            let required: Vec<_> = (0..8)
                .map(|k| json!({"course": course_id(p * 10 + k)}))
                .collect();
            let electives: Vec<_> = (8..11)
                .map(|k| json!({"course": course_id(p * 10 + k)}))
                .collect();
            json!({
                "readable_id": format!("program-v1:LOADx+P{p:04}"),
                "title": format!("Load Test Program {p:04}"), "live": true,
                "program_type": "MicroMasters®", "availability": "anytime",
                "departments": [departments[p % departments.len()]],
                "modes": ["audit", "verified"], "display_mode": null, "b2b_only": false,
                "price": "1000.00",
                "page": {"live": true, "description": "A synthetic program for load tests.",
                         "feature_image_src": "https://example.invalid/p.jpg",
                         "instructors": [{"name": "Ada Lovelace", "title": "Professor"}],
                         "length": "1 year", "effort": "10 hours per week", "min_weeks": 40,
                         "max_weeks": 52, "min_weekly_hours": 8, "max_weekly_hours": 10,
                         "price_text": "$1000", "topics": ["Load"], "prerequisites": "",
                         "include_in_learn_catalog": true},
                "requirements": [
                    {"operator": "all_of", "title": "Required Courses", "children": required},
                    {"operator": "min_number_of", "value": 2, "title": "Elective Courses",
                     "elective": true, "children": electives}
                ]
            })
        })
        .collect();
    let doc = json!({
        "version": 1,
        "departments": departments.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
        "courses": course_docs,
        "programs": program_docs,
    });
    println!("{}", serde_json::to_string(&doc).unwrap());
}
