"""Whole programs in the style of the Rhai Book, one per feature area, checked end to end."""
from __future__ import annotations

from herocelery.runners.rhai import evaluate, to_json


def run(script: str, **kw: object) -> object:
    return to_json(evaluate(script, on_print=lambda s: None, **kw))  # type: ignore[arg-type]


def test_objects_are_maps_with_closures_bound_to_this() -> None:
    script = """
        let account = #{
            owner: "ann",
            balance: 100,
            deposit: |amount| { this.balance += amount; this.balance },
            withdraw: |amount| {
                if amount > this.balance { throw `insufficient funds: ${this.balance}`; }
                this.balance -= amount;
            },
        };
        account.deposit(50);
        let refused = "";
        try { account.withdraw(500); } catch (e) { refused = e; }
        account.withdraw(30);
        #{ balance: account.balance, refused: refused }
    """
    assert run(script) == {"balance": 120, "refused": "insufficient funds: 150"}


def test_quick_sort_with_recursion_and_arrays() -> None:
    script = """
        fn qsort(a) {
            if a.len() <= 1 { return a; }
            let pivot = a[0];
            let rest = a.extract(1);
            qsort(rest.filter(|x| x < pivot)) + [pivot] + qsort(rest.filter(|x| x >= pivot))
        }
        qsort([5, 3, 9, 1, 5, 7, -2, 0])
    """
    assert run(script) == [-2, 0, 1, 3, 5, 5, 7, 9]


def test_word_frequencies_with_strings_and_maps() -> None:
    script = """
        let text = "the cat and the hat and the bat";
        let freq = #{};
        for w in text.split(" ") {
            freq[w] = (freq[w] ?? 0) + 1;
        }
        let top = [];
        for k in freq.keys() { if freq[k] > 1 { top.push(`${k}=${freq[k]}`); } }
        top
    """
    assert run(script) == ["and=2", "the=3"]


def test_closures_make_independent_counters() -> None:
    script = """
        fn counter(start) {
            let n = start;
            || { n += 1; n }
        }
        let a = counter(0);
        let b = counter(100);
        a.call(); a.call();
        [a.call(), b.call()]
    """
    assert run(script) == [3, 101]


def test_matrix_multiplication_with_nested_arrays() -> None:
    script = """
        fn matmul(a, b) {
            let n = a.len(); let m = b[0].len(); let k = b.len();
            let out = [];
            for i in 0..n {
                let row = [];
                row.pad(m, 0);
                for j in 0..m {
                    let s = 0;
                    for t in 0..k { s += a[i][t] * b[t][j]; }
                    row[j] = s;
                }
                out.push(row);
            }
            out
        }
        matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]])
    """
    assert run(script) == [[19, 22], [43, 50]]


def test_a_state_machine_with_switch_and_loop_break_value() -> None:
    script = """
        let state = "start";
        let steps = [];
        let result = loop {
            steps.push(state);
            state = switch state {
                "start" => "middle",
                "middle" if steps.len() < 3 => "middle",
                "middle" => "end",
                "end" => break steps.len(),
            };
        };
        #{ result: result, steps: steps }
    """
    assert run(script) == {"result": 4, "steps": ["start", "middle", "middle", "end"]}


def test_function_pointers_overloads_and_currying() -> None:
    script = """
        fn area(w) { w * w }
        fn area(w, h) { w * h }
        let square = Fn("area");
        let rect = Fn("area").curry(3);
        [square.call(4), rect.call(5), call(square, 2), [1, 2, 3].map(|x| area(x, 10))]
    """
    assert run(script) == [16, 15, 4, [10, 20, 30]]


def test_methods_on_script_functions_change_the_receiver() -> None:
    script = """
        fn add_item(item) { this.items.push(item); this.count += 1; }
        fn double() { this *= 2; }
        let cart = #{ items: [], count: 0 };
        cart.add_item("apple");
        cart.add_item("pear");
        let x = 21;
        x.double();
        [cart.count, cart.items, x]
    """
    assert run(script) == [2, ["apple", "pear"], 42]


def test_strings_chars_and_templates() -> None:
    script = """
        let name = "  Rhai Script  ";
        name.trim();
        let caps = name.to_upper();
        let initials = "";
        for word in name.split(" ") { initials += word[0]; }
        let s = `${name} has ${name.len()} chars, initials ${initials}, caps ${caps}`;
        s.replace("chars", "characters");
        s
    """
    assert run(script) == ("Rhai Script has 11 characters, initials RS, caps RHAI SCRIPT")


def test_processing_inputs_like_a_job_does() -> None:
    scope = {"INPUTS": {"orders": [{"sku": "a", "qty": 2, "price": 2.5},
                                   {"sku": "b", "qty": 1, "price": 10.0},
                                   {"sku": "a", "qty": 3, "price": 2.5}]}}
    script = """
        let totals = #{};
        for o in INPUTS.orders {
            totals[o.sku] = (totals[o.sku] ?? 0.0) + o.qty * o.price;
        }
        let skus = totals.keys();
        skus.sort(|a, b| if totals[a] < totals[b] { 1 }
                         else if totals[a] > totals[b] { -1 } else { 0 });
        #{ totals: totals, ranking: skus, grand: totals.values().reduce(|s, v| s + v, 0.0) }
    """
    assert run(script, scope=scope) == {"totals": {"a": 12.5, "b": 10.0},
                                        "ranking": ["a", "b"], "grand": 22.5}


def test_checked_arithmetic_caught_and_reported() -> None:
    script = """
        fn safe_mul(a, b) {
            try { a * b } catch (e) { `overflow: ${e}` }
        }
        [safe_mul(3, 4), safe_mul(9223372036854775807, 2)]
    """
    result = run(script)
    assert result[0] == 12  # type: ignore[index]
    assert result[1].startswith("overflow: Multiplication overflow")  # type: ignore[index]


def test_do_until_and_ranges_with_steps() -> None:
    script = """
        let collatz = [];
        let n = 6;
        do {
            collatz.push(n);
            n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        } until n == 1;
        let evens = [];
        for i in range(0, 10, 2) { evens.push(i); }
        [collatz, evens, (1..=4).len()]
    """
    assert run(script) == [[6, 3, 10, 5, 16, 8, 4, 2], [0, 2, 4, 6, 8], 4]
