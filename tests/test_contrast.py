import pytest

from vestibule.contrast import accent_contrast, contrast_ratio


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        # WebAIM's and the WCAG examples: the grey that just passes AA on white.
        ("#767676", "#ffffff", 4.54),
        ("#777777", "#ffffff", 4.48),
        ("#0000ff", "#ffffff", 8.59),
    ],
)
def test_the_ratio_follows_the_wcag_formula(first, second, expected):
    assert contrast_ratio(first, second) == pytest.approx(expected, abs=0.01)


def test_the_ratio_does_not_depend_on_the_order():
    assert contrast_ratio("#0a559f", "#f6f8fa") == contrast_ratio("#f6f8fa", "#0a559f")


def test_an_accent_is_judged_on_its_weakest_use():
    # Yellow is fine on black but not under white text: the lowest ratio wins.
    assert accent_contrast("#ffcc00") < 1.7
    assert accent_contrast("#0a559f") < contrast_ratio("#0a559f", "#ffffff")
