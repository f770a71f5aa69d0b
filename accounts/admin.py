from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.forms import panel_email_clean
from accounts.models import User


class CustomerChangeForm(UserChangeForm):
    """The admin's change form, with the panel's e-mail rule: an operator fixing a customer
    whose e-mail the panel refused gets told at once if the new one would be refused too."""

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        # Only a new address is checked: an old one must not block editing anything else.
        return panel_email_clean(email) if "email" in self.changed_data else email


class CustomerCreationForm(AdminUserCreationForm):
    """The admin's add form, with the panel's e-mail rule."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        return panel_email_clean(self.cleaned_data["email"])


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = CustomerChangeForm
    add_form = CustomerCreationForm
    ordering = ["-date_joined"]
    list_display = ["email", "first_name", "last_name", "pterodactyl_user_id", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "pterodactyl_user_id")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
