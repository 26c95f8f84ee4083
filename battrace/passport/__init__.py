"""The EU battery passport (Regulation (EU) 2023/1542 Art. 77, Annex XIII) of one battery, per audience.

``schema.json`` is the data model and the one field→audience table (each attribute names its Annex XIII point);
``access`` says which audience may see which point; ``assemble`` builds the document from verified rows (pure);
``gather`` reads those rows only once ``battrace verify --battery`` passes for the battery.
"""
