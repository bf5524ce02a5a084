from sdweb.search import largest_fitting


def test_finds_the_largest_fitting_setting_in_few_calls():
    calls = []

    def encode(q):
        calls.append(q)
        return b"x" * (10 * q)

    assert largest_fitting(encode, len, 1, 100, 555) == (55, b"x" * 550)
    assert len(calls) <= 10


def test_none_when_even_the_lowest_setting_is_over():
    assert largest_fitting(lambda q: b"x" * (10 + q), len, 1, 100, 5) is None


def test_whole_range_fits():
    assert largest_fitting(lambda q: b"x" * q, len, 1, 100, 1000)[0] == 100


def test_non_monotone_sizes_still_return_a_fitting_setting():
    sizes = {q: q + (q * 31) % 13 for q in range(1, 65)}  # wobbly but rising
    setting, data = largest_fitting(lambda q: b"x" * sizes[q], len, 1, 64, 40)
    assert len(data) <= 40 and sizes[setting] == len(data)
