from django import template
from django.forms import BoundField
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from vestibule.config import Text

register = template.Library()


@register.simple_tag
def widget(field: BoundField) -> SafeString:
    """The input, tied to its help text and error messages for screen readers."""
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_help")
    attrs = {}
    if field.errors:
        described_by.insert(0, f"{field.auto_id}_errors")
        attrs["aria-invalid"] = "true"
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)


@register.simple_tag
def in_own_language(text: object = "", language: str = "", **languages: str) -> SafeString:
    """`text`, inside a <span lang> when it is not in the page's language (WCAG 3.1.2).

    A profile's table of languages ({fr, en}) falls back to French when the page's language
    is missing; a plain string is in `language` (a profile's plain strings and the data an
    organisation imports are in its first language). `fr=…, en=…` give the table from two
    fields, e.g. a section's descriptions.
    """
    if languages:
        text = Text({code: value for code, value in languages.items() if value})
    page = (get_language() or "fr")[:2]
    if isinstance(text, Text):
        language = next((code for code in (page, "fr", *text) if text.get(code)), "")
    if not language or language == page or not str(text):
        return conditional_escape(text)
    return format_html('<span lang="{}">{}</span>', language, text)
