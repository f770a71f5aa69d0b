from django.urls import path

from accounts import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path(
        "verification/resend/", views.verification_resend_view, name="account_verification_resend"
    ),
]
