from django.utils.translation import gettext as _

from vestibule.config import Profile


def code_field_label(profile: Profile) -> str:
    """The code field's label: the kind's own (« Numéro de permis ») when only one kind signs up."""
    coded = [kind for kind in profile.coded_kinds if kind.self_registration]
    if len(coded) == 1:
        return str(coded[0].code_label)
    return _("User code")
