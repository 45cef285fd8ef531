app_name = "wishwall"

urlpatterns = []
