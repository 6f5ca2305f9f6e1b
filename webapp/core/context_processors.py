from webapp.core.roles import EDUCATORS, READERS, STUDY_ADMINS, user_roles


def roles(request) -> dict:
    held = user_roles(request.user) if hasattr(request, "user") else set()
    return {
        "is_reader": READERS in held,
        "is_educator": EDUCATORS in held,
        "is_study_admin": STUDY_ADMINS in held,
    }
