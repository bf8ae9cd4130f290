//! Writes a large synthetic catalog (for load tests) in the import format.
//!
//! ```sh
//! cargo run -p mitx-server --example gen_catalog -- 1000 3 > /tmp/big-catalog.json
//! ```
//! Arguments: courses (default 1000), runs per course (default 3).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let courses: usize = args.first().map_or(1000, |s| s.parse().unwrap());
    let runs: usize = args.get(1).map_or(3, |s| s.parse().unwrap());
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
    let doc = json!({
        "version": 1,
        "departments": departments.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
        "courses": course_docs,
    });
    println!("{}", serde_json::to_string(&doc).unwrap());
}
