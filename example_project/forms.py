import datetime as dt

from django import forms
from django.utils import timezone

from twitter_oauth.models import TwitterAccount


class ComposeForm(forms.Form):
    account = forms.ModelChoiceField(queryset=TwitterAccount.objects.none(), empty_label=None)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}))
    send_at = forms.DateTimeField(
        required=False,
        label="Post at (optional)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = user.twitter_accounts.filter(revoked_at__isnull=True)

    def clean_send_at(self):
        send_at = self.cleaned_data["send_at"]
        if send_at and send_at < timezone.now() - dt.timedelta(minutes=1):
            raise forms.ValidationError("That time has passed.")
        return send_at
