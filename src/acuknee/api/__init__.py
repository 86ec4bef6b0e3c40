"""acuknee's REST API under ``/api/v1`` (django-ninja), with its OpenAPI document.

The API is another adapter over the same models, access rules and core as the clinic pages:
``auth`` resolves a Bearer token to a user and applies ``clinic.access``'s role sets and clinic
scoping, ``rest`` declares the resources, ``errors`` gives every failure one shape.
"""
