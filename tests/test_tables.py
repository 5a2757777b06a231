"""The shipped tables (tables.npz, loaded at start-up) are exactly the decimal definitions in tables.py."""

import numpy as np

from lstmzip import tables


def test_shipped_tables_equal_their_definitions():
    shipped, defined = tables.load(), tables.build()
    assert sorted(shipped) == sorted(defined)
    for name, table in defined.items():
        assert shipped[name].dtype == np.int64 and np.array_equal(shipped[name], table), name


def test_logarithm_table_equals_the_logarithm_it_replaces():
    from lstmzip.mixing import LOG2, log2_fixed

    assert all(LOG2[x] == log2_fixed(x) for x in range(1, len(LOG2)))
