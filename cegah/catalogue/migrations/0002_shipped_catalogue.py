"""Install the shipped intervention catalogue (``cegah/catalogue/data/interventions.json``)
so every installation, and the test database, has it. Inserts missing slugs only; later
changes to the shipped file reach existing installations with
``cegah catalogue load --update``."""

from django.db import migrations


def load_shipped(apps, schema_editor):
    from cegah.catalogue.shipped import install_missing

    install_missing(apps.get_model("catalogue", "Intervention"))


class Migration(migrations.Migration):

    dependencies = [("catalogue", "0001_initial")]

    operations = [migrations.RunPython(load_shipped, migrations.RunPython.noop)]
