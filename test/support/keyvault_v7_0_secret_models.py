# The secret models of Key Vault's data plane at API version 7.0, as az 2.45's
# track-1 SDK (azure-keyvault 1.1, azure.keyvault.v7_0.models) declares them:
# msrest models with the same attribute maps and the same __init__ order.
# Debian lacks that package, so cli-output.test.ts checks coffer's shapes
# against these. Written from the 7.0 REST API's definitions.
from msrest.serialization import Model

_ATTRIBUTES_MAP = {
    'enabled': {'key': 'enabled', 'type': 'bool'},
    'not_before': {'key': 'nbf', 'type': 'unix-time'},
    'expires': {'key': 'exp', 'type': 'unix-time'},
    'created': {'key': 'created', 'type': 'unix-time'},
    'updated': {'key': 'updated', 'type': 'unix-time'},
    'recovery_level': {'key': 'recoveryLevel', 'type': 'str'},
}
_BUNDLE_MAP = {
    'value': {'key': 'value', 'type': 'str'},
    'id': {'key': 'id', 'type': 'str'},
    'content_type': {'key': 'contentType', 'type': 'str'},
    'attributes': {'key': 'attributes', 'type': 'SecretAttributes'},
    'tags': {'key': 'tags', 'type': '{str}'},
    'kid': {'key': 'kid', 'type': 'str'},
    'managed': {'key': 'managed', 'type': 'bool'},
}
_ITEM_MAP = {
    'id': {'key': 'id', 'type': 'str'},
    'attributes': {'key': 'attributes', 'type': 'SecretAttributes'},
    'tags': {'key': 'tags', 'type': '{str}'},
    'content_type': {'key': 'contentType', 'type': 'str'},
    'managed': {'key': 'managed', 'type': 'bool'},
}
_DELETION_MAP = {
    'recovery_id': {'key': 'recoveryId', 'type': 'str'},
    'scheduled_purge_date': {'key': 'scheduledPurgeDate', 'type': 'unix-time'},
    'deleted_date': {'key': 'deletedDate', 'type': 'unix-time'},
}


class SecretAttributes(Model):
    _validation = {'created': {'readonly': True}, 'updated': {'readonly': True}, 'recovery_level': {'readonly': True}}
    _attribute_map = _ATTRIBUTES_MAP

    def __init__(self, **kwargs):
        super(SecretAttributes, self).__init__(**kwargs)
        self.enabled = kwargs.get('enabled', None)
        self.not_before = kwargs.get('not_before', None)
        self.expires = kwargs.get('expires', None)
        self.created = None
        self.updated = None
        self.recovery_level = None


class SecretBundle(Model):
    _validation = {'kid': {'readonly': True}, 'managed': {'readonly': True}}
    _attribute_map = _BUNDLE_MAP

    def __init__(self, **kwargs):
        super(SecretBundle, self).__init__(**kwargs)
        self.value = kwargs.get('value', None)
        self.id = kwargs.get('id', None)
        self.content_type = kwargs.get('content_type', None)
        self.attributes = kwargs.get('attributes', None)
        self.tags = kwargs.get('tags', None)
        self.kid = None
        self.managed = None


class DeletedSecretBundle(SecretBundle):
    _validation = {'kid': {'readonly': True}, 'managed': {'readonly': True}, 'scheduled_purge_date': {'readonly': True}, 'deleted_date': {'readonly': True}}
    _attribute_map = {**_BUNDLE_MAP, **_DELETION_MAP}

    def __init__(self, **kwargs):
        super(DeletedSecretBundle, self).__init__(**kwargs)
        self.recovery_id = kwargs.get('recovery_id', None)
        self.scheduled_purge_date = None
        self.deleted_date = None


class SecretItem(Model):
    _validation = {'managed': {'readonly': True}}
    _attribute_map = _ITEM_MAP

    def __init__(self, **kwargs):
        super(SecretItem, self).__init__(**kwargs)
        self.id = kwargs.get('id', None)
        self.attributes = kwargs.get('attributes', None)
        self.tags = kwargs.get('tags', None)
        self.content_type = kwargs.get('content_type', None)
        self.managed = None


class DeletedSecretItem(SecretItem):
    _validation = {'managed': {'readonly': True}, 'scheduled_purge_date': {'readonly': True}, 'deleted_date': {'readonly': True}}
    _attribute_map = {**_ITEM_MAP, **_DELETION_MAP}

    def __init__(self, **kwargs):
        super(DeletedSecretItem, self).__init__(**kwargs)
        self.recovery_id = kwargs.get('recovery_id', None)
        self.scheduled_purge_date = None
        self.deleted_date = None
